"""Download the balancing-authority boundaries the API's coordinate lookup needs.

    python scripts/setup/download_boundaries.py [--url URL] [--output PATH]

Fetches the HIFLD "Control Areas" layer (US balancing authorities, public domain; ORNL,
LANL, INL and the NGA HSIP team for DHS's Homeland Infrastructure Foundation-Level Data)
as GeoJSON from its ArcGIS feature service, checks it, and writes it atomically to
ENERGY_DATA_BOUNDARIES or <ENERGY_DATA_HOME>/boundaries.geojson. HIFLD's own open portal
was retired in 2025; the default is a live ArcGIS Online copy of the same layer, with the
original HIFLD service tried next. --url or BOUNDARIES_URL points at any other copy.
Prints one line on success; one line on stderr and exit code 1 on failure.
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

# where=1=1: every feature; outSR=4326: longitude/latitude. The layer has ~71 features, far
# below the services' 2000-record page limit, so one request holds it all.
QUERY = "/query?where=1%3D1&outFields=*&outSR=4326&f=geojson"
DEFAULT_URLS = (
    # ArcGIS Online copy of HIFLD Control Areas (item 17499e6de9104f7288ce2ccc9239bc98).
    "https://services5.arcgis.com/HDRa0B57OVrv2E1q/arcgis/rest/services/Control_Areas/FeatureServer/0" + QUERY,
    # HIFLD Open's own service, for as long as it answers.
    "https://services1.arcgis.com/Hp6G80Pky0om7QvQ/arcgis/rest/services/Control_Areas/FeatureServer/0" + QUERY,
)
TIMEOUT_S = (15, 300)  # connect, read: the full-resolution layer is ~40 MB
MIN_BYTES = 100_000  # the smallest plausible national layer; an error page is far smaller
MAX_BYTES = 1_000_000_000


class DownloadError(RuntimeError):
    """The download failed or is not a usable boundaries file; one readable line."""


def download(url: str, output: Path, session: requests.Session, min_bytes: int = MIN_BYTES) -> str:
    """Fetch `url` into `output` (replaced only once the new file has passed every check)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".boundaries-", suffix=".part", dir=output.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            size = _fetch(url, file, session)
        if size < min_bytes:
            raise DownloadError(f"only {size:,} bytes from {_host(url)}, expected at least {min_bytes:,}")
        summary = _check(Path(temporary))
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return f"{summary} ({size / 1e6:.1f} MB) from {_host(url)}"


def _fetch(url: str, file, session: requests.Session) -> int:
    try:
        with session.get(url, stream=True, timeout=TIMEOUT_S) as response:
            if response.status_code != 200:
                raise DownloadError(f"HTTP {response.status_code} from {_host(url)}")
            size = 0
            for chunk in response.iter_content(chunk_size=1 << 20):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise DownloadError(f"{_host(url)} sent more than {MAX_BYTES:,} bytes")
                file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
            return size
    except requests.Timeout:
        raise DownloadError(f"{_host(url)} timed out") from None
    except requests.ConnectionError as exc:
        raise DownloadError(f"cannot reach {_host(url)} ({_reason(exc)})") from None
    except requests.RequestException as exc:
        raise DownloadError(f"request to {_host(url)} failed ({type(exc).__name__})") from None


def _check(path: Path) -> str:
    """What the file holds, or DownloadError unless it is a complete FeatureCollection of polygons."""
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
    polygons = [f for f in features if ((f or {}).get("geometry") or {}).get("type") in ("Polygon", "MultiPolygon")]
    if not polygons:
        raise DownloadError(f"the FeatureCollection holds no polygons ({len(features)} features)")
    if not _looks_like_degrees(polygons[0]["geometry"]):
        raise DownloadError("coordinates are not longitude/latitude degrees (was outSR=4326 asked for?)")
    return f"{len(polygons)} balancing-authority polygons"


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("BOUNDARIES_URL"),
                        help="GeoJSON URL to fetch (default: BOUNDARIES_URL, else the HIFLD Control Areas layer)")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write (default: ENERGY_DATA_BOUNDARIES or <ENERGY_DATA_HOME>/boundaries.geojson)")
    parser.add_argument("--min-bytes", type=int, default=MIN_BYTES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    output = args.output or default_boundaries_path()
    session = make_session()
    failures = []
    for url in [args.url] if args.url else DEFAULT_URLS:
        try:
            summary = download(url, output, session, args.min_bytes)
        except (DownloadError, OSError) as exc:
            failures.append(str(exc))
            continue
        print(f"boundaries: wrote {summary} to {output}")
        return 0
    print(f"boundaries: download failed: {'; '.join(failures)}. Set --url or BOUNDARIES_URL to another copy "
          "of the HIFLD Control Areas GeoJSON, or place one at " + str(output), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
