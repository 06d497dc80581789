"""The offline coordinate lookup, against the Electricity Maps zones in ../shared/geo/, and
the boundaries download script (the HIFLD layer and Natural Earth's countries and bidding
zones, merged into one file) against the loopback server with hand-written samples."""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import math
import random

import pytest
from shapely.geometry import Point, shape

from api.services import boundaries as boundaries_module
from api.services.boundaries import Boundaries, BoundariesError, boundaries_from_env, validate_coordinates
from tests.conftest import REPO
from tests.fakeiso import FakeISO

# Electricity Maps zone key -> our canonical code, as the region_alias table maps them.
ZONES = {
    "US-CAL-CISO": "CISO", "US-MIDW-MISO": "MISO", "US-NE-ISNE": "ISNE", "US-NY-NYIS": "NYIS",
    "US-MIDA-PJM": "PJM", "US-NW-BPAT": "BPAT", "US-CENT-SWPP": "SWPP", "US-TEX-ERCO": "ERCO",
    "US-NW-PACW": "PACW", "US-HI": "HECO", "PR": "PREPA",
}


@pytest.fixture(scope="session")
def zones_path(shared_fixtures):
    path = shared_fixtures.parent / "geo" / "us_zones.geojson"
    if not path.is_file():
        pytest.skip(f"test boundaries not found at {path}")
    return path


@pytest.fixture(scope="session")
def zones(zones_path):
    return Boundaries.load(zones_path, ZONES.get)


@pytest.fixture(scope="session")
def raw_features(zones_path):
    """(canonical code, shapely geometry) for every feature, straight from the file."""
    collection = json.loads(zones_path.read_text())
    return [(ZONES[f["properties"]["zoneName"]], shape(f["geometry"])) for f in collection["features"]]


def brute_force(raw_features, latitude, longitude):
    """What the lookup must answer: the smallest-area feature covering the point, no index."""
    point = Point(longitude, latitude)
    covering = [(geometry.area, code) for code, geometry in raw_features if geometry.covers(point)]
    return min(covering)[1] if covering else None


@pytest.mark.parametrize("place, latitude, longitude, expected", [
    ("San Francisco", 37.7749, -122.4194, "CISO"),
    ("Los Angeles", 34.0522, -118.2437, "CISO"),
    ("Manhattan", 40.7831, -73.9712, "NYIS"),
    ("Boston", 42.3601, -71.0589, "ISNE"),
    ("Chicago (ComEd is in PJM)", 41.8781, -87.6298, "PJM"),
    ("Des Moines", 41.5868, -93.6250, "MISO"),
    ("Dallas", 32.7767, -96.7970, "ERCO"),
    ("Oklahoma City", 35.4676, -97.5164, "SWPP"),
    ("Salem OR", 44.9429, -123.0351, "PACW"),
    ("Vancouver WA", 45.6387, -122.6615, "BPAT"),
    ("Honolulu", 21.3069, -157.8583, "HECO"),
    ("San Juan", 18.4655, -66.1057, "PREPA"),
])
def test_known_places(zones, raw_features, place, latitude, longitude, expected):
    assert brute_force(raw_features, latitude, longitude) == expected, f"the file itself puts {place} elsewhere"
    assert zones.locate(latitude, longitude) == expected


def test_portland_oregon_is_in_no_zone_of_this_file(zones, raw_features):
    # Portland General Electric is its own balancing authority (PGE), which this 11-zone
    # file does not have; shapely on the raw features agrees that no zone covers it.
    assert brute_force(raw_features, 45.5152, -122.6784) is None
    assert zones.locate(45.5152, -122.6784) is None


@pytest.mark.parametrize("latitude, longitude", [(35.0, -60.0), (30.0, -140.0), (0.0, 0.0), (-33.9, 151.2)])
def test_points_outside_every_zone(zones, latitude, longitude):
    assert zones.locate(latitude, longitude) is None


def test_index_answers_like_a_brute_force_scan(zones, raw_features):
    rng = random.Random(20250209)
    points = [(rng.uniform(24.5, 49.4), rng.uniform(-124.8, -66.9)) for _ in range(400)]
    points += [(rng.uniform(18.9, 22.3), rng.uniform(-160.3, -154.8)) for _ in range(50)]  # Hawaii
    points += [(rng.uniform(17.9, 18.6), rng.uniform(-67.3, -65.6)) for _ in range(50)]  # Puerto Rico
    expected = [brute_force(raw_features, lat, lon) for lat, lon in points]
    assert [zones.locate(lat, lon) for lat, lon in points] == expected
    assert sum(code is not None for code in expected) > 100, "too few points inside a zone to prove anything"
    assert len(set(expected) - {None}) >= 8


def test_shared_border_point_is_decided_by_area_then_code(zones, raw_features):
    # A vertex on the CAISO/PACW border is covered by both; the smaller polygon wins.
    ciso = dict(raw_features)["CISO"]
    pacw = dict(raw_features)["PACW"]
    border = ciso.boundary.intersection(pacw.boundary)
    x, y = next(iter(border.geoms)).coords[0] if hasattr(border, "geoms") else border.coords[0]
    assert ciso.covers(Point(x, y)) and pacw.covers(Point(x, y))
    smaller = "CISO" if ciso.area < pacw.area else "PACW"
    assert zones.locate(y, x) == smaller == brute_force(raw_features, y, x)


@pytest.mark.parametrize("order", [1, -1])
def test_a_nested_area_wins_over_the_one_around_it_whatever_the_file_order(order):
    # HIFLD has small balancing authorities (a city utility) inside large ones.
    big = {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]}
    small = {"type": "Polygon", "coordinates": [[[4, 4], [5, 4], [5, 5], [4, 5], [4, 4]]]}
    features = [{"type": "Feature", "properties": {"code": "BIG"}, "geometry": big},
                {"type": "Feature", "properties": {"code": "SMALL"}, "geometry": small}][::order]
    found = Boundaries.from_geojson({"type": "FeatureCollection", "features": features}, lambda name: name)
    assert found.locate(4.5, 4.5) == "SMALL"
    assert found.locate(4.0, 4.0) == "SMALL"  # on the small one's border: it still covers it
    assert found.locate(1.0, 1.0) == "BIG"


def test_regions_lists_every_resolved_zone(zones):
    assert zones.regions == tuple(sorted(ZONES.values()))


def test_unresolvable_features_are_skipped_with_one_warning(zones_path, caplog):
    partial = {key: code for key, code in ZONES.items() if key not in ("US-TEX-ERCO", "PR")}
    with caplog.at_level(logging.WARNING, logger="api.services.boundaries"):
        found = Boundaries.load(zones_path, partial.get)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "US-TEX-ERCO" in warnings[0].getMessage() and "PR" in warnings[0].getMessage()
    assert "ERCO" not in found.regions and "CISO" in found.regions
    assert found.locate(32.7767, -96.7970) is None  # Dallas: its zone was skipped
    assert found.locate(37.7749, -122.4194) == "CISO"


def test_property_names_are_tried_in_order():
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    far = {"type": "Polygon", "coordinates": [[[5, 5], [6, 5], [6, 6], [5, 6], [5, 5]]]}
    farther = {"type": "Polygon", "coordinates": [[[10, 10], [11, 10], [11, 11], [10, 11], [10, 10]]]}
    collection = {"type": "FeatureCollection", "features": [
        # HIFLD style: the full name only, in upper case under NAME
        {"type": "Feature", "properties": {"ID": "12345", "NAME": "PJM INTERCONNECTION, LLC"}, "geometry": square},
        # an EIA code wins over a name that would resolve elsewhere
        {"type": "Feature", "properties": {"EIA_CODE": "MISO", "name": "PJM INTERCONNECTION, LLC"}, "geometry": far},
        # a key that resolves nothing does not hide the next one
        {"type": "Feature", "properties": {"zoneName": "US-XX-NEW", "NAME": "ISO New England"}, "geometry": farther},
    ]}
    names = {"PJM INTERCONNECTION, LLC": "PJM", "MISO": "MISO", "ISO New England": "ISNE"}
    found = Boundaries.from_geojson(collection, names.get)
    assert found.locate(0.5, 0.5) == "PJM"
    assert found.locate(5.5, 5.5) == "MISO"
    assert found.locate(10.5, 10.5) == "ISNE"


def test_load_is_cached_per_path_and_resolver(zones_path):
    resolve = ZONES.get
    assert Boundaries.load(zones_path, resolve) is Boundaries.load(zones_path, resolve)


@pytest.mark.parametrize("latitude, longitude, parameter", [
    (float("nan"), 0.0, "latitude"), (0.0, float("nan"), "longitude"),
    (math.inf, 0.0, "latitude"), (0.0, -math.inf, "longitude"),
    (90.5, 0.0, "latitude"), (-91, 0.0, "latitude"), (0.0, 180.01, "longitude"), (0.0, -200, "longitude"),
    ("north", 0.0, "latitude"), (0.0, None, "longitude"), (True, 0.0, "latitude"),
])
def test_invalid_coordinates_name_the_parameter(zones, latitude, longitude, parameter):
    with pytest.raises(ValueError, match=parameter):
        validate_coordinates(latitude, longitude)
    with pytest.raises(ValueError, match=parameter):
        zones.locate(latitude, longitude)


def test_valid_edges_and_numeric_strings_are_accepted():
    assert validate_coordinates(90, -180) == (90.0, -180.0)
    assert validate_coordinates("37.77", "-122.42") == (37.77, -122.42)


def test_boundaries_from_env(zones_path, tmp_path, monkeypatch):
    monkeypatch.setenv("ENERGY_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("ENERGY_DATA_BOUNDARIES", raising=False)
    assert boundaries_from_env(ZONES.get) is None  # <home>/boundaries.geojson does not exist
    (tmp_path / "boundaries.geojson").write_bytes(zones_path.read_bytes())
    assert boundaries_from_env(ZONES.get).locate(40.7831, -73.9712) == "NYIS"
    monkeypatch.setenv("ENERGY_DATA_BOUNDARIES", str(zones_path))
    assert boundaries_from_env(ZONES.get).regions == tuple(sorted(ZONES.values()))
    monkeypatch.setenv("ENERGY_DATA_BOUNDARIES", str(tmp_path / "missing.geojson"))
    assert boundaries_from_env(ZONES.get) is None


def test_an_unusable_file_is_a_clear_error(tmp_path):
    broken = tmp_path / "boundaries.geojson"
    broken.write_text("<html>not json</html>")
    with pytest.raises(BoundariesError, match="not readable GeoJSON"):
        Boundaries.load(broken, ZONES.get)
    points = tmp_path / "points.geojson"
    points.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"NAME": "X"}, "geometry": {"type": "Point", "coordinates": [0, 0]}}]}))
    with pytest.raises(BoundariesError, match="no polygon"):
        Boundaries.load(points, ZONES.get)


def test_an_invalid_polygon_is_repaired():
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "X"}, "geometry": bowtie}]}
    found = Boundaries.from_geojson(collection, lambda name: name)
    assert found.locate(1.0, 0.5) == "X"  # inside the left lobe
    assert found.locate(0.2, 1.0) is None  # between the lobes


# --- scripts/setup/download_boundaries.py ---------------------------------------------

HANDWRITTEN = REPO / "tests" / "fixtures" / "boundaries"
ADMIN0 = HANDWRITTEN / "ne_admin0_countries_handwritten.geojson"
ADMIN1 = HANDWRITTEN / "ne_admin1_states_provinces_handwritten.geojson"

SMALL_LAYER = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"ID": "1", "NAME": "HAND-WRITTEN TEST AREA"},
     "geometry": {"type": "Polygon", "coordinates": [[[-100, 40], [-99, 40], [-99, 41], [-100, 41], [-100, 40]]]}},
]}


@pytest.fixture(scope="module")
def downloader():
    path = REPO / "scripts" / "setup" / "download_boundaries.py"
    spec = importlib.util.spec_from_file_location("download_boundaries", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_download(downloader, url, output, *extra):
    return downloader.main(["--url", url, "--output", str(output), "--min-bytes", "100", *extra])


def test_download_writes_the_file_and_says_so(downloader, fake_iso, tmp_path, capsys):
    body = json.dumps(SMALL_LAYER).encode()
    fake_iso.serve("/arcgis/query", body, content_type="application/geo+json")
    output = tmp_path / "home" / "boundaries.geojson"
    assert run_download(downloader, f"{fake_iso.url}/arcgis/query?f=geojson", output, "--no-world") == 0
    assert json.loads(output.read_bytes()) == SMALL_LAYER  # the features as they came
    assert len(fake_iso.requests) == 1  # --no-world: no Natural Earth download
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and "1 balancing-authority polygons" in out and str(output) in out
    assert err == ""
    assert "energy-data" in fake_iso.requests[0].headers["User-Agent"]
    assert fake_iso.requests[0].query == {"f": ["geojson"]}
    assert list(output.parent.iterdir()) == [output]  # no temporary file left behind
    assert Boundaries.load(output, lambda name: "TEST" if name.startswith("HAND") else None).locate(40.5, -99.5) == "TEST"


def test_download_reads_urls_and_output_from_the_environment(downloader, fake_iso, tmp_path, monkeypatch, capsys):
    fake_iso.serve("/layer.geojson", json.dumps(SMALL_LAYER).encode())
    fake_iso.serve("/ne/a0.geojson", ADMIN0.read_bytes())
    fake_iso.serve("/ne/a1.geojson", ADMIN1.read_bytes())
    output = tmp_path / "elsewhere.geojson"
    monkeypatch.setenv("BOUNDARIES_URL", f"{fake_iso.url}/layer.geojson")
    monkeypatch.setenv("NATURAL_EARTH_ADMIN0_URL", f"{fake_iso.url}/ne/a0.geojson")
    monkeypatch.setenv("NATURAL_EARTH_ADMIN1_URL", f"{fake_iso.url}/ne/a1.geojson")
    monkeypatch.setenv("ENERGY_DATA_BOUNDARIES", str(output))
    assert downloader.main(["--min-bytes", "100"]) == 0
    written = json.loads(output.read_text())
    assert written["features"][0] == SMALL_LAYER["features"][0]
    assert [r.path for r in fake_iso.requests] == ["/layer.geojson", "/ne/a0.geojson", "/ne/a1.geojson"]


@pytest.mark.parametrize("status", [404, 403])
def test_download_http_error_keeps_the_old_file(downloader, fake_iso, tmp_path, capsys, status):
    fake_iso.serve("/query", b"<html>Forbidden</html>", status=status, content_type="text/html")
    output = tmp_path / "boundaries.geojson"
    output.write_text("previous")
    assert run_download(downloader, f"{fake_iso.url}/query", output) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert f"HTTP {status}" in err and "BOUNDARIES_URL" in err
    assert output.read_text() == "previous"
    assert list(tmp_path.iterdir()) == [output]


@pytest.mark.parametrize("body, reason", [
    (b"<html><body>" + b"Service unavailable " * 20 + b"</body></html>", "not JSON"),
    (json.dumps({"error": {"code": 400, "message": "Invalid URL", "details": []}, "pad": "x" * 200}).encode(),
     "answered an error"),
    (json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [0, 0]}}] * 5}).encode(),
     "no polygons"),
    (json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {
        "type": "Polygon", "coordinates": [[[-11e6, 4e6], [-10e6, 4e6], [-10e6, 5e6], [-11e6, 4e6]]]}}]}).encode(),
     "not longitude/latitude"),
])
def test_download_rejects_what_is_not_a_boundaries_layer(downloader, fake_iso, tmp_path, capsys, body, reason):
    fake_iso.serve("/query", body, content_type="text/html")
    output = tmp_path / "boundaries.geojson"
    assert run_download(downloader, f"{fake_iso.url}/query", output) == 1
    err = capsys.readouterr().err
    assert reason in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_download_rejects_a_body_too_small_to_be_the_layer(downloader, fake_iso, tmp_path, capsys):
    fake_iso.serve("/query", json.dumps(SMALL_LAYER).encode())
    output = tmp_path / "boundaries.geojson"
    assert downloader.main(["--url", f"{fake_iso.url}/query", "--output", str(output)]) == 1
    assert "expected at least" in capsys.readouterr().err
    assert not output.exists()


def test_download_without_network_fails_in_one_line(downloader, tmp_path, capsys):
    # Port 9 on loopback: nothing listens, the connection is refused at once.
    assert run_download(downloader, "http://127.0.0.1:9/query", tmp_path / "b.geojson") == 1
    err = capsys.readouterr().err
    assert err.startswith("boundaries: download failed: cannot reach 127.0.0.1:9") and err.count("\n") == 1


def test_default_urls_query_the_whole_layer_as_wgs84_geojson(downloader):
    for url in downloader.DEFAULT_URLS:
        assert "Control_Areas/FeatureServer/0/query" in url
        assert "f=geojson" in url and "outSR=4326" in url and "where=1%3D1" in url


def test_boundaries_module_has_no_state_leak_between_paths(zones_path, tmp_path):
    copy = tmp_path / "copy.geojson"
    copy.write_bytes(zones_path.read_bytes())
    assert Boundaries.load(copy, ZONES.get) is not Boundaries.load(zones_path, ZONES.get)
    assert len(boundaries_module._instances) <= boundaries_module._CACHE_SIZE


def test_default_natural_earth_urls_are_the_10m_geojson_layers(downloader):
    assert downloader.ADMIN0_URL.endswith("/geojson/ne_10m_admin_0_countries.geojson")
    assert downloader.ADMIN1_URL.endswith("/geojson/ne_10m_admin_1_states_provinces.geojson")


# --- the world: Natural Earth countries and bidding zones, merged with the US layer ---------

# Zones we pretend are regions of ours, as they are once the European, Australian and Canadian
# sources add them to the region table; IN and JP stay without a source.
COVERED_ELSEWHERE = {
    "IE", "GB", "GB-NIR", "NL", "FR", "FR-COR", "SE-SE1", "SE-SE2", "SE-SE3", "SE-SE4", "NO-NO1", "NO-NO2",
    "NO-NO3", "NO-NO5", "DK-DK1", "DK-DK2", "IT-NO", "IT-CNO", "IT-CSO", "IT-SO", "IT-SIC", "IT-SAR",
    "AU-NSW", "AU-VIC", "AU-WA", "CA-QC", "CA-ON", "CA-AB",
}


def world_resolve(name):
    return ZONES.get(name) or (name if name in COVERED_ELSEWHERE else None)


@pytest.fixture(scope="module")
def world_download(downloader, zones_path, tmp_path_factory):
    """The file `make boundaries` writes, built from the recorded US zones (standing in for HIFLD)
    and the hand-written Natural Earth samples, all served on loopback; (path, stdout, requests)."""
    output = tmp_path_factory.mktemp("world") / "boundaries.geojson"
    with FakeISO() as server:
        server.serve("/arcgis/query", zones_path.read_bytes(), content_type="application/geo+json")
        server.serve("/ne/admin0.geojson", ADMIN0.read_bytes(), content_type="application/geo+json")
        server.serve("/ne/admin1.geojson", ADMIN1.read_bytes(), content_type="application/geo+json")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            code = downloader.main(["--url", f"{server.url}/arcgis/query", "--admin0-url",
                                    f"{server.url}/ne/admin0.geojson", "--admin1-url",
                                    f"{server.url}/ne/admin1.geojson", "--output", str(output), "--min-bytes", "100"])
        assert code == 0
        return output, printed.getvalue(), [r.path for r in server.requests]


@pytest.fixture(scope="module")
def world(world_download):
    return Boundaries.load(world_download[0], world_resolve)


def test_world_download_merges_the_us_layer_and_natural_earth(world_download, zones_path):
    path, printed, requested = world_download
    assert requested == ["/arcgis/query", "/ne/admin0.geojson", "/ne/admin1.geojson"]
    assert printed.count("\n") == 1 and str(path) in printed
    assert printed.startswith("boundaries: wrote 11 balancing-authority polygons")
    assert "country and bidding-zone areas (Natural Earth)" in printed
    assert "1 admin-1 areas left out, no zone for: NO-21 Svalbard" in printed
    written = json.loads(path.read_text())["features"]
    us = json.loads(zones_path.read_text())["features"]
    assert written[:len(us)] == us  # the US layer's features as they came, first
    zones = [f["properties"]["zoneName"] for f in written[len(us):]]
    # countries drawn from admin-1 (or by the US layer) are not countries here; no code, no feature
    assert not {"US", "SE", "NO", "DK", "IT", "AU", "CA"} & set(zones) and "-99" not in zones
    assert {"IE", "GB", "NL", "FR", "IN", "JP"} <= set(zones)
    assert {"GB-NIR", "FR-COR", "SE-SE3", "NO-NO5", "DK-DK2", "IT-CSO", "AU-NSW", "CA-QC"} <= set(zones)
    assert all(f["properties"]["source"].startswith("Natural Earth admin-") for f in written[len(us):])


@pytest.mark.parametrize("place, latitude, longitude, zone", [
    ("Stockholm", 59.3293, 18.0686, "SE-SE3"),
    ("Gävle", 60.6749, 17.1413, "SE-SE3"),  # Gävleborg, south of the cut
    ("Hudiksvall", 61.7274, 17.1056, "SE-SE2"),  # Gävleborg, north of it
    ("Umeå", 63.8258, 20.2630, "SE-SE2"),
    ("Skellefteå", 64.7507, 20.9528, "SE-SE1"),
    ("Växjö", 56.8790, 14.8059, "SE-SE4"),  # Kronoberg, matched by its name
    ("Malmö", 55.6050, 13.0038, "SE-SE4"),
    ("Oslo", 59.9139, 10.7522, "NO-NO1"),
    ("Bergen", 60.3913, 5.3221, "NO-NO5"),
    ("Førde", 61.4520, 5.8570, "NO-NO3"),  # Vestland north of Sogndal
    ("Stavanger", 58.9700, 5.7331, "NO-NO2"),
    ("Trondheim", 63.4305, 10.3951, "NO-NO3"),
    ("Copenhagen", 55.6761, 12.5683, "DK-DK2"),
    ("Aarhus", 56.1629, 10.2039, "DK-DK1"),
    ("Milan", 45.4642, 9.1900, "IT-NO"),
    ("Turin", 45.0703, 7.6869, "IT-NO"),
    ("Florence", 43.7696, 11.2558, "IT-CNO"),
    ("Perugia", 43.1107, 12.3908, "IT-CSO"),  # Umbria: Centre-South since 2021
    ("Rome", 41.9028, 12.4964, "IT-CSO"),
    ("Catanzaro", 38.9098, 16.5877, "IT-SO"),  # Calabria, kept in IT-SO
    ("Palermo", 38.1157, 13.3615, "IT-SIC"),  # region given as "Sicily"
    ("Cagliari", 39.2238, 9.1217, "IT-SAR"),
    ("Sydney", -33.8688, 151.2093, "AU-NSW"),
    ("Canberra", -35.2809, 149.1300, "AU-NSW"),  # the ACT is in the NEM's NSW region
    ("Melbourne", -37.8136, 144.9631, "AU-VIC"),
    ("Perth", -31.9523, 115.8613, "AU-WA"),
    ("Montréal", 45.5019, -73.5674, "CA-QC"),
    ("Québec City", 46.8139, -71.2080, "CA-QC"),
    ("Toronto", 43.6532, -79.3832, "CA-ON"),
    ("Calgary", 51.0447, -114.0719, "CA-AB"),
    ("Dublin", 53.3498, -6.2603, "IE"),
    ("Belfast", 54.5973, -5.9301, "GB-NIR"),  # drawn on top of the United Kingdom
    ("London", 51.5072, -0.1276, "GB"),
    ("Paris", 48.8566, 2.3522, "FR"),  # France's ISO_A2 is -99: ISO_A2_EH
    ("Ajaccio", 41.9192, 8.7386, "FR-COR"),
    ("Amsterdam", 52.3676, 4.9041, "NL"),
])
def test_a_point_resolves_to_the_zone_it_lies_in(world, place, latitude, longitude, zone):
    assert world.locate(latitude, longitude) == zone, place


@pytest.mark.parametrize("place, latitude, longitude, zone", [
    ("Mumbai", 19.0760, 72.8777, "IN"),
    ("Tokyo", 35.6762, 139.6503, "JP"),
    ("Svalbard (its county maps to no zone)", 78.2232, 15.6267, None),
    ("Portland OR (no US country outline: only balancing authorities)", 45.5152, -122.6784, None),
    ("mid-Atlantic", 35.0, -40.0, None),
])
def test_a_point_in_a_zone_without_a_source_is_told_apart(world, place, latitude, longitude, zone):
    assert world.locate(latitude, longitude) is None, place
    assert world.zone_at(latitude, longitude) == zone, place


def test_us_lookups_are_unchanged_by_the_world(world, zones, raw_features):
    rng = random.Random(20250312)
    points = [(rng.uniform(24.5, 48.9), rng.uniform(-124.8, -66.9)) for _ in range(400)]
    points += [(rng.uniform(18.9, 22.3), rng.uniform(-160.3, -154.8)) for _ in range(50)]  # Hawaii
    points += [(rng.uniform(17.9, 18.6), rng.uniform(-67.3, -65.6)) for _ in range(50)]  # Puerto Rico
    expected = [brute_force(raw_features, lat, lon) for lat, lon in points]
    found = [world.locate(lat, lon) for lat, lon in points]
    # where a balancing authority answers, it still does; elsewhere in the box (Canada, the sea) at
    # most a Canadian province of the sample, never a country outline of the United States
    assert [f for f, e in zip(found, expected) if e] == [e for e in expected if e]
    assert {f for f, e in zip(found, expected) if not e} <= {None, "CA-QC", "CA-ON", "CA-AB"}
    assert sum(code is not None for code in expected) > 100


def test_world_download_fails_in_one_line_and_writes_nothing(downloader, fake_iso, tmp_path, capsys):
    fake_iso.serve("/arcgis/query", json.dumps(SMALL_LAYER).encode())
    fake_iso.serve("/ne/admin0.geojson", ADMIN0.read_bytes())
    output = tmp_path / "boundaries.geojson"
    output.write_text("previous")
    code = downloader.main(["--url", f"{fake_iso.url}/arcgis/query", "--admin0-url", f"{fake_iso.url}/ne/admin0.geojson",
                            "--admin1-url", f"{fake_iso.url}/ne/missing.geojson", "--output", str(output),
                            "--min-bytes", "100"])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("boundaries: download failed: Natural Earth admin-1: HTTP 404 from 127.0.0.1:")
    assert "NATURAL_EARTH_ADMIN1_URL" in err and "--no-world" in err
    assert output.read_text() == "previous" and list(tmp_path.iterdir()) == [output]


def test_if_missing_does_nothing_when_the_file_exists(downloader, fake_iso, tmp_path, capsys):
    output = tmp_path / "boundaries.geojson"
    output.write_text("{}")
    assert downloader.main(["--if-missing", "--url", f"{fake_iso.url}/q", "--output", str(output)]) == 0
    assert capsys.readouterr() == ("", "") and fake_iso.requests == []


def test_if_missing_says_in_one_line_what_works_without_the_file(downloader, tmp_path, capsys):
    output = tmp_path / "boundaries.geojson"
    assert downloader.main(["--if-missing", "--url", "http://127.0.0.1:9/query", "--output", str(output)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("boundaries: not installed (cannot reach 127.0.0.1:9")
    assert "make boundaries" in err and "cloud regions work without them" in err
    assert not output.exists()


def test_make_run_downloads_missing_boundaries_before_it_serves():
    script = (REPO / "deploy" / "run-local.sh").read_text()
    call = script.index("scripts/setup/download_boundaries.py --if-missing")
    assert call < script.index("gunicorn")
