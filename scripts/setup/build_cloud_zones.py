"""Derive each cloud region's grid zone from its coordinates, once, and store it in the catalogue.

    python scripts/setup/build_cloud_zones.py BOUNDARIES.geojson --source "TEXT" [--write]

Places every entry of api/data/cloud_locations.json in a GeoJSON whose features name
Electricity Maps zone keys (property `zoneName`: the file `make boundaries` writes carries
them for every zone outside the US, and Electricity Maps' geo/world.geojson for the US too) and
compares the answer with the zone the catalogue stores. US zones are stored as our region ids,
the EIA code inside the zone key (US-MIDA-PJM -> PJM). A point just outside a coarse outline (a coast, a river) goes
to the nearest zone within --max-km. Entries whose `zone_source` starts with "by hand" are kept
as they are and only reported. Without --write nothing is written; the exit code is 1 when a
stored zone differs from what the boundaries say.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

import shapely
from shapely.geometry import Point, shape
from shapely.ops import nearest_points

REPO = Path(__file__).resolve().parents[2]
CATALOGUE = REPO / "api" / "data" / "cloud_locations.json"
ZONE_KEY = re.compile(r"^[A-Z]{2}(-[A-Z0-9]+)*$")
# Electricity Maps keys of US zones whose EIA code is not their last part.
US_SPECIAL = {"US-HI": "HECO", "PR": "PREPA"}
EARTH_RADIUS_KM = 6371.0


def our_zone(zone_key: str) -> str:
    """The zone as the catalogue stores it: our region id in the US, else the zone key itself."""
    if zone_key in US_SPECIAL:
        return US_SPECIAL[zone_key]
    parts = zone_key.split("-")
    return parts[2] if parts[0] == "US" and len(parts) == 3 else zone_key


class Zones:
    """Zone outlines from a GeoJSON FeatureCollection, keyed by their zoneName."""

    def __init__(self, collection: dict):
        self.keys, geometries = [], []
        for feature in collection.get("features") or ():
            key = str((feature.get("properties") or {}).get("zoneName") or "")
            geometry = feature.get("geometry") or {}
            if ZONE_KEY.match(key) and geometry.get("type") in ("Polygon", "MultiPolygon"):
                self.keys.append(key)
                geometries.append(shapely.make_valid(shape(geometry)))
        if not self.keys:
            raise SystemExit("build_cloud_zones: the file has no polygon features with a zoneName")
        self.geometries = geometries
        self.tree = shapely.STRtree(geometries)

    def at(self, latitude: float, longitude: float, max_km: float) -> tuple[str, float] | None:
        """(zone key, 0) for the smallest zone covering the point, else (nearest zone key, its
        distance in km) when within max_km, else None."""
        point = Point(longitude, latitude)
        covering = [i for i in self.tree.query(point) if self.geometries[i].covers(point)]
        if covering:
            best = min(covering, key=lambda i: (self.geometries[i].area, self.keys[i]))
            return self.keys[best], 0.0
        nearest = int(self.tree.nearest(point))
        on_outline = nearest_points(point, self.geometries[nearest])[1]
        km = _haversine_km(latitude, longitude, on_outline.y, on_outline.x)
        return (self.keys[nearest], km) if km <= max_km else None


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def derive(entry: dict, zones: Zones, source: str, max_km: float) -> tuple[str, str, str] | None:
    """(zone key, zone as stored, zone_source) for one catalogue entry, or None outside every zone."""
    found = zones.at(entry["latitude"], entry["longitude"], max_km)
    if found is None:
        return None
    key, km = found
    where = f"in {key}" if km == 0 else f"nearest {key}, {km:.0f} km outside its coarse outline"
    return key, our_zone(key), f"boundaries: coordinates {where} ({source})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("boundaries", type=Path, help="GeoJSON with zoneName properties")
    parser.add_argument("--source", required=True, help="how to cite the boundaries in zone_source")
    parser.add_argument("--max-km", type=float, default=25.0, help="nearest-zone distance for coastal points")
    parser.add_argument("--catalogue", type=Path, default=CATALOGUE)
    parser.add_argument("--write", action="store_true", help="store the derived zones in the catalogue")
    args = parser.parse_args(argv)
    zones = Zones(json.loads(args.boundaries.read_text(encoding="utf-8")))
    data = json.loads(args.catalogue.read_text(encoding="utf-8"))
    differences, foreign = 0, set()
    for entry in data["locations"]:
        label = f"{entry['provider']}:{entry['name']}"
        derived = derive(entry, zones, args.source, args.max_km)
        stored = entry.get("zone")
        if str(entry.get("zone_source", "")).startswith("by hand"):
            if derived and derived[1] != stored:
                print(f"{label}: kept {stored} (by hand); the boundaries say {derived[1]}")
            continue
        if derived is None:
            print(f"{label}: outside every zone of {args.boundaries.name}; place it by hand")
            differences += stored is None
            continue
        key, zone, zone_source = derived
        if zone == key and not key.startswith("US-"):
            foreign.add(zone)
        if zone != stored:
            print(f"{label}: {stored} -> {zone}")
            differences += 1
        if args.write:
            entry["zone"], entry["zone_source"] = zone, zone_source
    unnamed = sorted(foreign - set(data.get("zones", {})))
    if unnamed:
        print(f"zones without a name in the catalogue's \"zones\": {', '.join(unnamed)}")
    if args.write:
        args.catalogue.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"build_cloud_zones: wrote {args.catalogue.relative_to(REPO) if args.catalogue.is_relative_to(REPO) else args.catalogue}")
    return 1 if differences and not args.write else 0


if __name__ == "__main__":
    sys.exit(main())
