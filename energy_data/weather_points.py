"""The places weather is forecast for (energy_data/data/weather_points.csv): a few points per
region where its wind, solar and load are, each with a weight within its role and the reason
it was chosen. The OPENMETEO source asks for them; the forecast-input reads average over them.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

POINTS_FILE = Path(__file__).resolve().parent / "data" / "weather_points.csv"
ROLES = ("wind", "solar", "load")
COLUMNS = ("region", "point", "latitude", "longitude", "role", "weight", "reason")


@dataclass(frozen=True)
class WeatherPoint:
    region: str       # our region id (EIA balancing-authority code)
    point: str        # stable id; give a moved point a new id, its stored forecasts are elsewhere
    latitude: float
    longitude: float
    role: str         # wind | solar | load: which of the region's variables it stands for
    weight: float     # its share among the region's points of its role
    reason: str       # the wind or solar area, or the city, it stands for


@lru_cache(maxsize=4)
def load_points(path: Path = POINTS_FILE) -> tuple[WeatherPoint, ...]:
    """Every point of the file, checked: ValueError naming the line of anything wrong."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path}: header must be {','.join(COLUMNS)}, not {reader.fieldnames}")
        points = [_point(row, f"{path}:{number}") for number, row in enumerate(reader, start=2)]
    _check_unique(points, path)
    return tuple(points)


def _point(row: dict[str, str], where: str) -> WeatherPoint:
    try:
        point = WeatherPoint(row["region"].strip().upper(), row["point"].strip(), float(row["latitude"]),
                             float(row["longitude"]), row["role"].strip(), float(row["weight"]),
                             row["reason"].strip())
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: unreadable point ({exc})") from None
    if not (-90 <= point.latitude <= 90 and -180 <= point.longitude <= 180):
        raise ValueError(f"{where}: coordinates {point.latitude}, {point.longitude} are off the globe")
    if point.role not in ROLES:
        raise ValueError(f"{where}: role {point.role!r} is none of {', '.join(ROLES)}")
    if not point.weight > 0:
        raise ValueError(f"{where}: weight must be positive")
    if not (point.region and point.point and point.reason):
        raise ValueError(f"{where}: region, point and reason are required")
    return point


def _check_unique(points: list[WeatherPoint], path: Path) -> None:
    """Ids and coordinates are unique: a forecast body names its points by their coordinates."""
    for what, key in (("point id", lambda p: p.point), ("coordinates", lambda p: (p.latitude, p.longitude))):
        seen: set = set()
        for point in points:
            if key(point) in seen:
                raise ValueError(f"{path}: {what} of {point.point} used twice")
            seen.add(key(point))


def points_by_region(points: tuple[WeatherPoint, ...] | None = None) -> dict[str, list[WeatherPoint]]:
    """Points grouped by region, in file order."""
    grouped: dict[str, list[WeatherPoint]] = {}
    for point in points if points is not None else load_points():
        grouped.setdefault(point.region, []).append(point)
    return grouped
