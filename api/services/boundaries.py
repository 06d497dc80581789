"""Offline "which balancing authority is here": point-in-polygon over a GeoJSON of
balancing-authority boundaries (HIFLD Control Areas, or Electricity Maps zones).

Shapely 2 with an STRtree over prepared geometries; a file is parsed once per process.
A point covered by more than one feature (on a shared border, or where HIFLD polygons
overlap or nest) goes to the feature with the smallest area, then the lowest code: the
smaller polygon is the more specific balancing authority, and the answer never depends on
the order of features in the file.
"""
from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from database.connection import energy_data_home

log = logging.getLogger(__name__)

Resolver = Callable[[str], str | None]

# Identifying properties, tried in this order (keys compared case-insensitively):
# Electricity Maps zone keys, EIA codes (EIA's own layer calls it EIAcode), then names
# (HIFLD Control Areas: NAME holds the balancing authority's full name).
PROPERTY_KEYS = ("zonename", "eia_code", "eiacode", "code", "name")
_CACHE_SIZE = 8
_LOGGED_NAMES = 20  # a world file has hundreds of zones without a source: the log line names a few
# Outlines for a map: enough detail to recognise a region at the dashboard's size (about 2 km;
# coordinates to ~100 m).
SIMPLIFY_DEGREES = 0.02
GRID_DEGREES = 0.001


class BoundariesError(ValueError):
    """The boundaries file cannot be used; the message names it and says what to do."""


def validate_coordinates(latitude: Any, longitude: Any) -> tuple[float, float]:
    """(latitude, longitude) as floats; ValueError naming the parameter if not a WGS84 point."""
    return _coordinate("latitude", latitude, 90.0), _coordinate("longitude", longitude, 180.0)


def _coordinate(name: str, value: Any, limit: float) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not -limit <= number <= limit:
        raise ValueError(f"{name} must be between {-limit:g} and {limit:g}, got {number:g}")
    return number


@dataclass(frozen=True)
class _Feature:
    names: tuple[str, ...]  # identifying property values, in PROPERTY_KEYS order
    geometry: shapely.Geometry


class Boundaries:
    """Balancing-authority polygons keyed by canonical region code, with a spatial index; beside
    them, the features that name no region of ours (zones with no source here), so that a point
    in one of those can be told apart from a point outside every known area."""

    def __init__(self, regions: list[tuple[str, shapely.Geometry]],
                 others: list[tuple[str, shapely.Geometry]] = ()):
        self._codes, self._geometries, self._tree = _index(regions)
        self._other_names, self._other_geometries, self._other_tree = _index(list(others))
        self._outlines: list[dict] | None = None

    @classmethod
    def load(cls, path: Path, resolve: Resolver) -> Boundaries:
        """The boundaries in a GeoJSON file, parsed once per process (per path, version and resolver)."""
        path = Path(path).resolve()
        try:
            stat = path.stat()
        except OSError as exc:
            raise BoundariesError(f"cannot read boundaries file {path}: {exc.strerror}") from None
        key = (str(path), stat.st_mtime_ns, stat.st_size, resolve)
        with _lock:
            cached = _instances.get(key)
            if cached is None:
                cached = cls._from_features(_parsed(key[:3]), resolve, source=str(path))
                _remember(_instances, key, cached)
            return cached

    @classmethod
    def from_geojson(cls, collection: dict, resolve: Resolver) -> Boundaries:
        """Boundaries from an already-parsed FeatureCollection (no caching)."""
        return cls._from_features(_features(collection, "the given FeatureCollection"), resolve)

    @classmethod
    def _from_features(cls, features: list[_Feature], resolve: Resolver,
                       source: str = "boundaries") -> Boundaries:
        regions, others, unresolved = [], [], set()
        for feature in features:
            code = _resolve(feature.names, resolve)
            if code is not None:
                regions.append((code, feature.geometry))
                continue
            unresolved.add(" / ".join(feature.names) or "(no identifying property)")
            if feature.names:
                others.append((feature.names[0], feature.geometry))
        if unresolved:
            names = sorted(unresolved)
            shown = "; ".join(names[:_LOGGED_NAMES]) + ("; ..." if len(names) > _LOGGED_NAMES else "")
            log.warning("boundaries: %d of %d features in %s name no known region (a point there is "
                        "answered as not covered): %s", len(features) - len(regions), len(features), source, shown)
        return cls(regions, others)

    @property
    def regions(self) -> tuple[str, ...]:
        """The canonical codes this file covers, sorted."""
        return tuple(sorted(set(self._codes)))

    def shapes(self) -> list[tuple[str, shapely.Geometry]]:
        """(code, geometry) per region, sorted by code; a region drawn by several features as one."""
        by_code: dict[str, list] = {}
        for code, geometry in zip(self._codes, self._geometries):
            by_code.setdefault(code, []).append(geometry)
        return [(code, parts[0] if len(parts) == 1 else shapely.union_all(parts)) for code, parts in sorted(by_code.items())]

    def locate(self, latitude: float, longitude: float) -> str | None:
        """The region code at this point, or None outside every region (ValueError if invalid)."""
        latitude, longitude = validate_coordinates(latitude, longitude)
        point = shapely.points((longitude, latitude))  # the ufunc: faster than Point()
        candidates = self._tree.query(point)  # bounding boxes only
        if candidates.size == 0:
            return None
        candidates.sort()  # index order is the tie-break rank: smallest area first
        hits = candidates[shapely.covers(self._geometries[candidates], point)]
        return self._codes[hits[0]] if hits.size else None

    def outlines(self) -> list[dict]:
        """Each region's outline as a GeoJSON feature (property `id`: its code) for a map,
        simplified and snapped to a grid (less than half the bytes of the simplified outline
        alone); regions too small to survive are left out. Built once per instance."""
        with _outlines_lock:
            if self._outlines is None:
                simplified = [(code, shapely.set_precision(shapely.simplify(geometry, SIMPLIFY_DEGREES),
                                                           GRID_DEGREES)) for code, geometry in self.shapes()]
                self._outlines = [{"type": "Feature", "properties": {"id": code},
                                   "geometry": shapely.geometry.mapping(outline)}
                                  for code, outline in simplified if not outline.is_empty]
            return self._outlines

    def zone_at(self, latitude: float, longitude: float) -> str | None:
        """The name of the smallest feature at this point that names no region of ours (an
        Electricity Maps zone key such as IN-WE), else None; the point is validated by locate()."""
        point = shapely.points((longitude, latitude))
        candidates = self._other_tree.query(point)
        candidates.sort()
        hits = candidates[shapely.covers(self._other_geometries[candidates], point)]
        return self._other_names[hits[0]] if hits.size else None


def _index(items: list[tuple[str, shapely.Geometry]]) -> tuple[list[str], np.ndarray, shapely.STRtree]:
    """(names, geometries, STRtree) ranked smallest area first, then name: the rank is the tie-break."""
    # Area in square degrees: distorted by latitude, but only neighbours are compared.
    ranked = sorted(items, key=lambda item: (item[1].area, item[0]))
    geometries = np.array([geometry for _, geometry in ranked], dtype=object)
    shapely.prepare(geometries)
    # GEOS builds a prepared polygon's point index lazily, on first use: build it now,
    # while one thread owns the object, not in concurrent requests.
    shapely.covers(geometries, shapely.point_on_surface(geometries))
    return [name for name, _ in ranked], geometries, shapely.STRtree(geometries)


def _resolve(names: tuple[str, ...], resolve: Resolver) -> str | None:
    for name in names:
        code = resolve(name)
        if code:
            return code
    return None


def default_boundaries_path() -> Path:
    """ENERGY_DATA_BOUNDARIES, or <ENERGY_DATA_HOME>/boundaries.geojson."""
    configured = os.environ.get("ENERGY_DATA_BOUNDARIES")
    return Path(configured) if configured else energy_data_home() / "boundaries.geojson"


def boundaries_from_env(resolve: Resolver) -> Boundaries | None:
    """The installed boundaries, or None when the file is absent (`make boundaries` fetches it)."""
    path = default_boundaries_path()
    if not path.is_file():
        log.info("boundaries: no file at %s (run `make boundaries`)", path)
        return None
    return Boundaries.load(path, resolve)


# Parsing is the expensive part (tens of MB for HIFLD); it is shared by every resolver.
_lock = threading.Lock()
_outlines_lock = threading.Lock()
_parsed_files: dict[tuple, list[_Feature]] = {}
_instances: dict[tuple, Boundaries] = {}


def _remember(cache: dict, key: tuple, value: object) -> None:
    if len(cache) >= _CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[key] = value


def _parsed(key: tuple) -> list[_Feature]:
    features = _parsed_files.get(key)
    if features is None:
        path = key[0]
        try:
            with open(path, "rb") as file:
                collection = json.load(file)
        except (OSError, ValueError) as exc:
            raise BoundariesError(f"boundaries file {path} is not readable GeoJSON ({exc}); "
                                  "run `make boundaries` again") from None
        features = _features(collection, path)
        _remember(_parsed_files, key, features)
    return features


def _features(collection: Any, source: str) -> list[_Feature]:
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise BoundariesError(f"{source} is not a GeoJSON FeatureCollection")
    features = []
    for raw in collection.get("features") or ():
        geometry = _polygonal(raw.get("geometry") if isinstance(raw, dict) else None)
        if geometry is not None:
            features.append(_Feature(_names(raw.get("properties") or {}), geometry))
    if not features:
        raise BoundariesError(f"{source} holds no polygon features")
    return features


def _names(properties: dict) -> tuple[str, ...]:
    by_key = {str(key).lower(): value for key, value in properties.items()}
    values = (by_key.get(key) for key in PROPERTY_KEYS)
    return tuple(str(value).strip() for value in values if value is not None and str(value).strip())


def _polygonal(geometry: dict | None) -> shapely.Geometry | None:
    """The (multi)polygon of a GeoJSON geometry, repaired if invalid; None if it has no area."""
    if not geometry or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return None
    try:
        result = shape(geometry)
    except (ValueError, TypeError, AttributeError, IndexError):
        return None
    if not result.is_valid:  # self-intersections occur in digitised utility boundaries
        result = shapely.make_valid(result)
        parts = [part for part in getattr(result, "geoms", [result])
                 if part.geom_type in ("Polygon", "MultiPolygon")]
        result = shapely.union_all(parts) if parts else None
    return result if result is not None and not result.is_empty else None
