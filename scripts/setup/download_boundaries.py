"""Download the boundaries the API's coordinate lookup needs, into one GeoJSON file.

    python scripts/setup/download_boundaries.py [--url URL] [--output PATH] [--no-world] [--if-missing]

Two public-domain sources, merged into one FeatureCollection written atomically to
ENERGY_DATA_BOUNDARIES or <ENERGY_DATA_HOME>/boundaries.geojson:

- the US balancing authorities: the HIFLD "Control Areas" layer (ORNL, LANL, INL and the NGA
  HSIP team for DHS's Homeland Infrastructure Foundation-Level Data), as GeoJSON from its ArcGIS
  feature service. HIFLD's own open portal was retired in 2025; the default is a live ArcGIS
  Online copy of the same layer, with the original HIFLD service tried next. --url or
  BOUNDARIES_URL points at any other copy. Its features are written as they come.
- every other country, and the bidding zones and market regions of Sweden, Norway, Denmark,
  Italy, Australia and Canada: Natural Earth's 1:10m admin-0 (countries) and admin-1 (states,
  provinces, counties) layers, as GeoJSON from the natural-earth-vector repository
  (NATURAL_EARTH_ADMIN0_URL and NATURAL_EARTH_ADMIN1_URL point elsewhere). scripts/setup/
  world_zones.py turns them into features named by Electricity Maps zone keys (documented
  there, with its approximations). --no-world writes the US layer alone.

One file, so that the lookup reads one index: a point covered by a balancing authority and a
country outline (along the borders, where the two sources are digitised differently) goes to the
smaller feature, as overlapping balancing authorities already do. Prints one line on success;
one line on stderr and exit code 1 on failure, leaving any previous file in place.
--if-missing (what `make run` calls) does nothing when the file exists, and on failure says in
its one line what works without the file.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import requests

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from api.services.boundaries import default_boundaries_path  # noqa: E402
from energy_data.http import make_session  # noqa: E402  (User-Agent, retries with backoff)
from scripts.setup.world_zones import world_zones  # noqa: E402

# where=1=1: every feature; outSR=4326: longitude/latitude. The layer has ~71 features, far
# below the services' 2000-record page limit, so one request holds it all.
QUERY = "/query?where=1%3D1&outFields=*&outSR=4326&f=geojson"
DEFAULT_URLS = (
    # ArcGIS Online copy of HIFLD Control Areas (item 17499e6de9104f7288ce2ccc9239bc98).
    "https://services5.arcgis.com/HDRa0B57OVrv2E1q/arcgis/rest/services/Control_Areas/FeatureServer/0" + QUERY,
    # HIFLD Open's own service, for as long as it answers.
    "https://services1.arcgis.com/Hp6G80Pky0om7QvQ/arcgis/rest/services/Control_Areas/FeatureServer/0" + QUERY,
)
# Natural Earth (public domain, https://www.naturalearthdata.com/about/terms-of-use/): the
# GeoJSON build of version 5 kept in the project's repository.
NATURAL_EARTH = "https://raw.githubusercontent.com/nvkelso/natural-earth-vector/master/geojson/"
ADMIN0_URL = NATURAL_EARTH + "ne_10m_admin_0_countries.geojson"
ADMIN1_URL = NATURAL_EARTH + "ne_10m_admin_1_states_provinces.geojson"
TIMEOUT_S = (15, 300)  # connect, read: the full-resolution layers are tens of MB each
QUICK_TIMEOUT_S = (5, 300)  # --if-missing: `make run` should not wait long on a host with no network
MIN_BYTES = 100_000  # the smallest plausible national layer; an error page is far smaller
MIN_WORLD_BYTES = 1_000_000  # Natural Earth's 1:10m layers are well over this
MAX_BYTES = 1_000_000_000


class DownloadError(RuntimeError):
    """The download failed or is not a usable boundaries file; one readable line, and what to do."""

    def __init__(self, message: str, advice: str = ""):
        super().__init__(message)
        self.advice = advice


def fetch_layer(url: str, directory: Path, session: requests.Session, min_bytes: int,
                timeout: tuple[float, float] = TIMEOUT_S) -> tuple[dict, int]:
    """(FeatureCollection, size in bytes) of a GeoJSON layer at `url`, checked; spooled through a
    temporary file in `directory` so that a large body is never held twice."""
    handle, temporary = tempfile.mkstemp(prefix=".layer-", suffix=".part", dir=directory)
    try:
        with os.fdopen(handle, "wb") as file:
            size = _fetch(url, file, session, timeout)
        if size < min_bytes:
            raise DownloadError(f"only {size:,} bytes from {_host(url)}, expected at least {min_bytes:,}")
        return _load_checked(Path(temporary)), size
    finally:
        Path(temporary).unlink(missing_ok=True)


def _fetch(url: str, file, session: requests.Session, timeout: tuple[float, float]) -> int:
    try:
        with session.get(url, stream=True, timeout=timeout) as response:
            if response.status_code != 200:
                raise DownloadError(f"HTTP {response.status_code} from {_host(url)}")
            size = 0
            for chunk in response.iter_content(chunk_size=1 << 20):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise DownloadError(f"{_host(url)} sent more than {MAX_BYTES:,} bytes")
                file.write(chunk)
            return size
    except requests.Timeout:
        raise DownloadError(f"{_host(url)} timed out") from None
    except requests.ConnectionError as exc:
        raise DownloadError(f"cannot reach {_host(url)} ({_reason(exc)})") from None
    except requests.RequestException as exc:
        raise DownloadError(f"request to {_host(url)} failed ({type(exc).__name__})") from None


def _load_checked(path: Path) -> dict:
    """The FeatureCollection in the file, or DownloadError unless it is a complete one of polygons."""
    try:
        with open(path, "rb") as file:
            collection = json.load(file)
    except ValueError:
        raise DownloadError("the answer is not JSON (an error page?)") from None
    if not isinstance(collection, dict):
        raise DownloadError("the answer is JSON but not a GeoJSON object")
    if "error" in collection:  # ArcGIS reports errors as JSON with status 200
        raise DownloadError(f"the service answered an error: {str(collection['error'])[:200]}")
    if collection.get("type") != "FeatureCollection":
        raise DownloadError(f"the answer is not a GeoJSON FeatureCollection (type {collection.get('type')!r})")
    if collection.get("exceededTransferLimit") or (collection.get("properties") or {}).get("exceededTransferLimit"):
        raise DownloadError("the service cut the answer short (exceededTransferLimit); it needs paging")
    features = collection.get("features") or []
    polygons = [f for f in features if _polygonal(f)]
    if not polygons:
        raise DownloadError(f"the FeatureCollection holds no polygons ({len(features)} features)")
    if not _looks_like_degrees(polygons[0]["geometry"]):
        raise DownloadError("coordinates are not longitude/latitude degrees (was outSR=4326 asked for?)")
    collection["features"] = polygons
    return collection


def _polygonal(feature) -> bool:
    return isinstance(feature, dict) and ((feature.get("geometry") or {}).get("type") in ("Polygon", "MultiPolygon"))


def _looks_like_degrees(geometry: dict) -> bool:
    point = geometry["coordinates"]
    while isinstance(point, list) and point and isinstance(point[0], list):
        point = point[0]
    try:
        return -180 <= float(point[0]) <= 180 and -90 <= float(point[1]) <= 90
    except (TypeError, ValueError, IndexError):
        return False


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _reason(exc: BaseException) -> str:
    """The innermost cause of a connection error, short (no URL)."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    text = str(exc)
    for marker in ("Name or service not known", "Temporary failure in name resolution", "Failed to resolve",
                   "Connection refused", "Network is unreachable", "timed out"):
        if marker.lower() in text.lower():
            return marker.lower()
    return type(exc).__name__


def _us_layer(urls: list[str], directory: Path, session, min_bytes: int, timeout) -> tuple[dict, str]:
    """The HIFLD layer from the first URL that gives a usable one, and where it came from."""
    failures = []
    for url in urls:
        try:
            collection, size = fetch_layer(url, directory, session, min_bytes, timeout)
        except DownloadError as exc:
            failures.append(str(exc))
            continue
        return collection, f"{_host(url)}, {size / 1e6:.1f} MB"
    raise DownloadError("; ".join(failures), "set --url or BOUNDARIES_URL to another copy of the HIFLD "
                        "Control Areas GeoJSON")


def _world_layer(admin0_url: str, admin1_url: str, directory: Path, session, min_bytes: int, timeout):
    layers = []
    for name, url, variable in (("admin-0", admin0_url, "NATURAL_EARTH_ADMIN0_URL"),
                                ("admin-1", admin1_url, "NATURAL_EARTH_ADMIN1_URL")):
        try:
            layers.append(fetch_layer(url, directory, session, min_bytes, timeout)[0])
        except DownloadError as exc:
            raise DownloadError(f"Natural Earth {name}: {exc}", f"set {variable} to another copy, or give "
                                "--no-world for the US balancing authorities alone") from None
    return world_zones(*layers)


def write_atomically(collection: dict, output: Path) -> int:
    """Write the FeatureCollection to `output` through a temporary file; its size in bytes."""
    handle, temporary = tempfile.mkstemp(prefix=".boundaries-", suffix=".part", dir=output.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(collection, file, separators=(",", ":"), ensure_ascii=False)
            file.flush()
            os.fsync(file.fileno())
        size = Path(temporary).stat().st_size
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return size


def build(args: argparse.Namespace, output: Path, timeout) -> str:
    """Download, merge and write; the summary line."""
    session = make_session()
    output.parent.mkdir(parents=True, exist_ok=True)
    us, us_from = _us_layer([args.url] if args.url else list(DEFAULT_URLS), output.parent, session,
                            args.min_bytes or MIN_BYTES, timeout)
    summary = f"{len(us['features'])} balancing-authority polygons ({us_from})"
    features = us["features"]
    if not args.no_world:
        world = _world_layer(args.admin0_url, args.admin1_url, output.parent, session,
                             args.min_bytes or MIN_WORLD_BYTES, timeout)
        features = features + world.features
        summary += f" and {len(world.features)} country and bidding-zone areas (Natural Earth)"
        if world.unmapped:
            summary += f"; {len(world.unmapped)} admin-1 areas left out, no zone for: {', '.join(world.unmapped)}"
    size = write_atomically({"type": "FeatureCollection", "features": features}, output)
    return f"boundaries: wrote {summary} to {output} ({size / 1e6:.1f} MB)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("BOUNDARIES_URL"),
                        help="HIFLD Control Areas GeoJSON URL (default: BOUNDARIES_URL, else the ArcGIS copies)")
    parser.add_argument("--admin0-url", default=os.environ.get("NATURAL_EARTH_ADMIN0_URL") or ADMIN0_URL,
                        help="Natural Earth admin-0 countries GeoJSON (default: NATURAL_EARTH_ADMIN0_URL or GitHub)")
    parser.add_argument("--admin1-url", default=os.environ.get("NATURAL_EARTH_ADMIN1_URL") or ADMIN1_URL,
                        help="Natural Earth admin-1 states and provinces GeoJSON (default: NATURAL_EARTH_ADMIN1_URL "
                             "or GitHub)")
    parser.add_argument("--no-world", action="store_true", help="the US balancing authorities alone")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write (default: ENERGY_DATA_BOUNDARIES or <ENERGY_DATA_HOME>/boundaries.geojson)")
    parser.add_argument("--if-missing", action="store_true",
                        help="do nothing when the file exists; on failure say what works without it")
    parser.add_argument("--min-bytes", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    output = args.output or default_boundaries_path()
    if args.if_missing and output.is_file():
        return 0
    try:
        print(build(args, output, QUICK_TIMEOUT_S if args.if_missing else TIMEOUT_S))
        return 0
    except (DownloadError, OSError) as exc:
        if args.if_missing:
            print(f"boundaries: not installed ({exc}); latitude/longitude lookups answer 503 until `make "
                  "boundaries` succeeds, region ids and cloud regions work without them", file=sys.stderr)
        else:
            advice = getattr(exc, "advice", "")
            print(f"boundaries: download failed: {exc}; {advice + ', or ' if advice else ''}place a GeoJSON "
                  f"file at {output}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
