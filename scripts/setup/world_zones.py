"""Country and bidding-zone outlines from Natural Earth's admin-0 (countries) and admin-1
(states, provinces, counties) layers, each feature named by its Electricity Maps zone key
(property `zoneName`), for the boundaries file `make boundaries` writes.

- A country is one zone, its ISO 3166-1 alpha-2 code (ISO_A2, or ISO_A2_EH where Natural Earth
  gives -99, as for France and Norway). The United States are left out: the balancing-authority
  layer (HIFLD) draws them.
- Countries split into bidding zones or market regions (SPLIT) are drawn from their admin-1
  areas instead, each mapped to its zone below. Bidding zones follow transmission lines, not
  county lines (Statnett and Svenska kraftnät define them by the lines that cross them), so the
  mapping is an approximation, listed with each country. Where a county straddles a zone border,
  it is cut along a parallel (Cut): the part south of the latitude goes to one zone, the rest to
  the other.
- Some areas of a country belong to another zone than the rest (OVERRIDES: Corsica, the French
  overseas regions, Northern Ireland, the Azores and Madeira). They are added as their own
  features on top of the country; the lookup gives a point to the smallest feature covering it.

Admin-1 areas are matched by their ISO 3166-2 code (`iso_3166_2`), else by name (`name`,
`name_en`, `region`, `geonunit`, compared without case, accents or punctuation), so that older
and newer county codes (Norway's 2020 and 2024 reforms) and Italy's provinces (matched by their
region) all map. An area of a split country that matches nothing is left out and reported.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import shapely
from shapely.geometry import mapping, shape


@dataclass(frozen=True)
class Cut:
    """An admin-1 area split along a parallel: `south` below `latitude`, `north` above it."""
    latitude: float
    south: str
    north: str


# Sweden (SE1-SE4). Approximations: the SE1/SE2 border runs slanted through Västerbotten (cut at
# 64.5 N: Skellefteå SE1, Umeå SE2); SE2/SE3 through Gävleborg (cut at 60.8 N: Gävle and
# Sandviken SE3, Hudiksvall SE2); SE3/SE4 through Halland (57.05 N: Varberg SE3, Falkenberg SE4),
# Jönköping (57.3 N) and Kalmar (57.35 N: Västervik SE3, Oskarshamn SE4). The real borders are
# not parallels: points within some tens of km of them may land in the neighbouring zone.
SWEDEN = {
    ("SE-BD", "Norrbotten"): "SE-SE1",
    ("SE-AC", "Västerbotten"): Cut(64.5, "SE-SE2", "SE-SE1"),
    ("SE-Z", "Jämtland"): "SE-SE2",
    ("SE-Y", "Västernorrland"): "SE-SE2",
    ("SE-X", "Gävleborg"): Cut(60.8, "SE-SE3", "SE-SE2"),
    ("SE-W", "Dalarna"): "SE-SE3",
    ("SE-S", "Värmland"): "SE-SE3",
    ("SE-T", "Örebro"): "SE-SE3",
    ("SE-U", "Västmanland"): "SE-SE3",
    ("SE-C", "Uppsala"): "SE-SE3",
    ("SE-AB", "Stockholm"): "SE-SE3",
    ("SE-D", "Södermanland"): "SE-SE3",
    ("SE-E", "Östergötland"): "SE-SE3",
    ("SE-I", "Gotland"): "SE-SE3",
    ("SE-O", "Västra Götaland"): "SE-SE3",
    ("SE-F", "Jönköping"): Cut(57.3, "SE-SE4", "SE-SE3"),
    ("SE-H", "Kalmar"): Cut(57.35, "SE-SE4", "SE-SE3"),
    ("SE-N", "Halland"): Cut(57.05, "SE-SE4", "SE-SE3"),
    ("SE-G", "Kronoberg"): "SE-SE4",
    ("SE-K", "Blekinge"): "SE-SE4",
    ("SE-M", "Skåne"): "SE-SE4",
}

# Norway (NO1-NO5), counties of 1972-2019, 2020-2023 and from 2024 (codes do not collide).
# Approximations: western Buskerud (Hallingdal's upper end, e.g. Geilo) is NO5, northern
# Innlandet (upper Gudbrandsdalen, e.g. Dombås) NO3, and southern Vestland (Sunnhordland, Odda)
# NO2; all go with their county here. Vestland and Sogn og Fjordane are cut at 61.35 N (NO3 north
# of Sogndal since 2016: Førde and Florø NO3, Sogndal NO5).
NORWAY = {
    ("NO-03", "Oslo"): "NO-NO1",
    ("NO-01", "NO-31", "Østfold"): "NO-NO1",
    ("NO-02", "NO-32", "Akershus"): "NO-NO1",
    ("NO-30", "Viken"): "NO-NO1",
    ("NO-06", "NO-33", "Buskerud"): "NO-NO1",
    ("NO-04", "Hedmark"): "NO-NO1",
    ("NO-05", "Oppland"): "NO-NO1",
    ("NO-34", "Innlandet"): "NO-NO1",
    ("NO-07", "NO-39", "Vestfold"): "NO-NO2",
    ("NO-08", "NO-40", "Telemark"): "NO-NO2",
    ("NO-38", "Vestfold og Telemark"): "NO-NO2",
    ("NO-09", "Aust-Agder"): "NO-NO2",
    ("NO-10", "Vest-Agder"): "NO-NO2",
    ("NO-42", "Agder"): "NO-NO2",
    ("NO-11", "Rogaland"): "NO-NO2",
    ("NO-12", "Hordaland"): "NO-NO5",
    ("NO-14", "Sogn og Fjordane"): Cut(61.35, "NO-NO5", "NO-NO3"),
    ("NO-46", "Vestland"): Cut(61.35, "NO-NO5", "NO-NO3"),
    ("NO-15", "Møre og Romsdal"): "NO-NO3",
    ("NO-16", "Sør-Trøndelag"): "NO-NO3",
    ("NO-17", "Nord-Trøndelag"): "NO-NO3",
    ("NO-50", "Trøndelag"): "NO-NO3",
    ("NO-18", "Nordland"): "NO-NO4",
    ("NO-19", "NO-55", "Troms"): "NO-NO4",
    ("NO-20", "NO-56", "Finnmark"): "NO-NO4",
    ("NO-54", "Troms og Finnmark"): "NO-NO4",
}

# Denmark: the Great Belt divides DK1 (Jutland, Funen) from DK2 (Zealand, Lolland-Falster,
# Bornholm); the five regions fall on either side whole.
DENMARK = {
    ("DK-81", "Nordjylland"): "DK-DK1",
    ("DK-82", "Midtjylland"): "DK-DK1",
    ("DK-83", "Syddanmark"): "DK-DK1",
    ("DK-84", "Hovedstaden"): "DK-DK2",
    ("DK-85", "Sjælland"): "DK-DK2",
}

# Italy, by region (Natural Earth's admin-1 areas are provinces; their `region` names the
# region), in the zones Terna has used since 1 January 2021: Umbria moved from Centre-North to
# Centre-South, and Calabria became a zone of its own, which Electricity Maps keeps in IT-SO
# (its zone key list has no Calabria), as we do.
ITALY = {
    ("IT-21", "Piemonte", "Piedmont"): "IT-NO",
    ("IT-23", "Valle d'Aosta", "Aosta Valley"): "IT-NO",
    ("IT-25", "Lombardia", "Lombardy"): "IT-NO",
    ("IT-32", "Trentino-Alto Adige", "Trentino-South Tyrol", "Trentino-Alto Adige/Südtirol"): "IT-NO",
    ("IT-34", "Veneto"): "IT-NO",
    ("IT-36", "Friuli-Venezia Giulia"): "IT-NO",
    ("IT-42", "Liguria"): "IT-NO",
    ("IT-45", "Emilia-Romagna"): "IT-NO",
    ("IT-52", "Toscana", "Tuscany"): "IT-CNO",
    ("IT-57", "Marche"): "IT-CNO",
    ("IT-55", "Umbria"): "IT-CSO",
    ("IT-62", "Lazio", "Latium"): "IT-CSO",
    ("IT-65", "Abruzzo"): "IT-CSO",
    ("IT-72", "Campania"): "IT-CSO",
    ("IT-67", "Molise"): "IT-SO",
    ("IT-75", "Puglia", "Apulia"): "IT-SO",
    ("IT-77", "Basilicata"): "IT-SO",
    ("IT-78", "Calabria"): "IT-SO",
    ("IT-82", "Sicilia", "Sicily"): "IT-SIC",
    ("IT-88", "Sardegna", "Sardinia"): "IT-SAR",
}

# Australia: the NEM's regions are its states, with the ACT (and Jervis Bay) in NSW1; Western
# Australia's WEM (AU-WA) serves the south-west, so the state's north is an approximation.
AUSTRALIA = {
    ("AU-NSW", "New South Wales"): "AU-NSW",
    ("AU-ACT", "Australian Capital Territory"): "AU-NSW",
    ("AU-JBT", "Jervis Bay Territory"): "AU-NSW",
    ("AU-VIC", "Victoria"): "AU-VIC",
    ("AU-QLD", "Queensland"): "AU-QLD",
    ("AU-SA", "South Australia"): "AU-SA",
    ("AU-TAS", "Tasmania"): "AU-TAS",
    ("AU-WA", "Western Australia"): "AU-WA",
    ("AU-NT", "Northern Territory"): "AU-NT",
}

# Canada: one zone per province or territory.
CANADA = {
    ("CA-AB", "Alberta"): "CA-AB",
    ("CA-BC", "British Columbia"): "CA-BC",
    ("CA-MB", "Manitoba"): "CA-MB",
    ("CA-NB", "New Brunswick"): "CA-NB",
    ("CA-NL", "CA-NF", "Newfoundland and Labrador"): "CA-NL",
    ("CA-NS", "Nova Scotia"): "CA-NS",
    ("CA-NT", "Northwest Territories"): "CA-NT",
    ("CA-NU", "Nunavut"): "CA-NU",
    ("CA-ON", "Ontario"): "CA-ON",
    ("CA-PE", "Prince Edward Island"): "CA-PE",
    ("CA-QC", "Québec", "Quebec"): "CA-QC",
    ("CA-SK", "Saskatchewan"): "CA-SK",
    ("CA-YT", "CA-YK", "Yukon"): "CA-YT",
}

SPLIT = {"SWE": SWEDEN, "NOR": NORWAY, "DNK": DENMARK, "ITA": ITALY, "AUS": AUSTRALIA, "CAN": CANADA}

# Areas drawn on top of their country: Corsica and the French overseas regions are not on the
# mainland French grid, Northern Ireland is in the all-island Irish market, the Azores and
# Madeira have their own island grids.
OVERRIDES = {
    "FRA": {
        ("FR-2A", "FR-2B", "FR-20R", "Corse", "Corse-du-Sud", "Haute-Corse", "Corsica"): "FR-COR",
        ("FR-971", "FR-GP", "FR-GUA", "Guadeloupe"): "GP",
        ("FR-972", "FR-MQ", "FR-MQ~", "Martinique"): "MQ",
        ("FR-973", "FR-GF", "FR-GF~", "Guyane", "Guyane française", "French Guiana"): "GF",
        ("FR-974", "FR-RE", "FR-LRE", "La Réunion", "Réunion"): "RE",
        ("FR-976", "FR-YT", "FR-MAY", "Mayotte"): "YT",
    },
    "GBR": {("Northern Ireland",): "GB-NIR"},
    "PRT": {("PT-20", "Azores", "Açores", "Região Autónoma dos Açores"): "PT-AC",
            ("PT-30", "Madeira", "Região Autónoma da Madeira"): "PT-MA"},
}

# The balancing-authority layer draws these.
LEFT_TO_THE_BA_LAYER = {"USA"}


def normalise(name: str) -> str:
    """A name or code as compared: no case, accents or punctuation."""
    plain = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", plain.lower())


def _lookup(table: dict) -> dict[str, object]:
    return {normalise(key): zone for keys, zone in table.items() for key in keys}


_SPLIT = {country: _lookup(table) for country, table in SPLIT.items()}
_OVERRIDES = {country: _lookup(table) for country, table in OVERRIDES.items()}


def _props(feature: dict) -> dict[str, object]:
    """A feature's properties with lower-case keys (Natural Earth's admin-0 GeoJSON is upper case)."""
    return {str(key).lower(): value for key, value in (feature.get("properties") or {}).items()}


def _country(props: dict) -> str | None:
    return str(props.get("adm0_a3") or props.get("gu_a3") or "").upper() or None


def country_zone(props: dict) -> str | None:
    """The zone of a whole country: its ISO alpha-2 code, or None when Natural Earth has none."""
    for key in ("iso_a2", "iso_a2_eh"):
        code = str(props.get(key) or "").upper()
        if re.fullmatch(r"[A-Z]{2}", code):
            return code
    return None


def _admin1_match(props: dict, table: dict[str, object]) -> object | None:
    for key in ("iso_3166_2", "name", "name_en", "region", "geonunit", "name_alt"):
        value = props.get(key)
        if value is not None and normalise(value) in table:
            return table[normalise(value)]
    return None


@dataclass
class WorldZones:
    features: list[dict]  # GeoJSON features with properties zoneName and source
    unmapped: list[str]  # admin-1 areas of split countries that map to no zone


def world_zones(admin0: dict, admin1: dict) -> WorldZones:
    """Zone features from Natural Earth's admin-0 and admin-1 FeatureCollections."""
    features: list[dict] = []
    for feature in admin0.get("features") or ():
        props = _props(feature)
        country, zone = _country(props), country_zone(props)
        if country in LEFT_TO_THE_BA_LAYER or country in SPLIT or zone is None or not _polygonal(feature):
            continue
        features.append(_feature(zone, feature["geometry"], f"Natural Earth admin-0 {props.get('admin') or zone}"))
    unmapped: list[str] = []
    for feature in admin1.get("features") or ():
        props = _props(feature)
        country = _country(props)
        if not _polygonal(feature) or (country not in SPLIT and country not in _OVERRIDES):
            continue
        label = f"{props.get('iso_3166_2') or '?'} {props.get('name') or ''}".strip()
        target = _admin1_match(props, _SPLIT.get(country) or _OVERRIDES[country])
        if target is None:
            if country in SPLIT:
                unmapped.append(label)
            continue
        features += _admin1_features(target, feature["geometry"], f"Natural Earth admin-1 {label}")
    return WorldZones(features, unmapped)


def _admin1_features(target: object, geometry: dict, source: str) -> Iterable[dict]:
    if isinstance(target, str):
        return [_feature(target, geometry, source)]
    whole = shapely.make_valid(shape(geometry))
    parts = [(target.south, _areas(shapely.clip_by_rect(whole, -180, -90, 180, target.latitude)), "south"),
             (target.north, _areas(shapely.clip_by_rect(whole, -180, target.latitude, 180, 90)), "north")]
    return [_feature(zone, mapping(part), f"{source}, {side} of {target.latitude} N")
            for zone, part, side in parts if part is not None]


def _areas(geometry: shapely.Geometry) -> shapely.Geometry | None:
    """The polygons of a clipped geometry (a clip can leave lines and points on the cut), or None."""
    polygons = [part for part in shapely.get_parts(geometry) if part.geom_type in ("Polygon", "MultiPolygon")]
    merged = shapely.union_all(polygons) if polygons else None
    return merged if merged is not None and not merged.is_empty and merged.area > 0 else None


def _polygonal(feature: dict) -> bool:
    return ((feature or {}).get("geometry") or {}).get("type") in ("Polygon", "MultiPolygon")


def _feature(zone: str, geometry: dict, source: str) -> dict:
    return {"type": "Feature", "properties": {"zoneName": zone, "source": source}, "geometry": geometry}
