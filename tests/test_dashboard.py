"""The dashboard at / in a real headless Chromium (Debian's package, driven by Playwright
through executable_path), against a real server holding the recorded fixtures and hand-made
European and Australian bodies (replayed by the crawler), with the world boundaries file built
by `make boundaries`' script from the hand-written Natural Earth samples: what the page draws is
compared with the JSON API's own answers for the same question."""
from __future__ import annotations

import csv
import io
import math
import os
import shutil
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import psycopg2
import pytest
import requests

from tests.conftest import REPO
from tests.crawlhelp import crawler_cli
from tests.test_boundaries import downloader, world_download, zones_path  # noqa: F401  (fixtures)
from tests.test_global_zones import HAND_MADE_A75, factors, hand_intensity, hand_made_bodies, hourly_mix

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 60_000


def chromium_path() -> str | None:
    """ENERGY_DATA_CHROMIUM (what `make test` gets from scripts/setup/chromium.sh), else Debian's."""
    for candidate in (os.environ.get("ENERGY_DATA_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def chromium():
    path = chromium_path()
    if path is None:
        reason = "no chromium: run scripts/setup/chromium.sh (as root it installs Debian's package)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; CI must run the browser tests")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def world_data(filled, tmp_path_factory):
    """The recorded US fixtures (`filled`), then hand-made bodies for FI, NL, SE-SE3 and AU-NSW on
    2025-02-19 replayed by `python -m crawler replay` (NYISO's data stay the newest)."""
    files = hand_made_bodies(tmp_path_factory.mktemp("handmade"))
    result = crawler_cli("replay", *map(str, files), timeout=600)
    assert result.returncode == 0 and result.stdout.count(": ok: ") == len(files), result.stdout + result.stderr
    return filled


@contextmanager
def serving(app):
    """`app` on a loopback port, in a threaded werkzeug server; yields its base URL."""
    from werkzeug.serving import make_server

    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join()


@pytest.fixture(scope="module")
def server(world_data, world_download):
    """The app with the world boundaries file: the recorded US zones standing in for HIFLD's layer,
    and the countries and bidding zones of the hand-written Natural Earth samples."""
    from api import create_app

    previous = os.environ.get("ENERGY_DATA_BOUNDARIES")
    os.environ["ENERGY_DATA_BOUNDARIES"] = str(world_download[0])
    for name in ("WATTTIME_USERNAME", "WATTTIME_PASSWORD"):
        os.environ.pop(name, None)
    with serving(create_app(world_data)) as url:
        yield url
    if previous is None:
        os.environ.pop("ENERGY_DATA_BOUNDARIES", None)
    else:
        os.environ["ENERGY_DATA_BOUNDARIES"] = previous


@pytest.fixture(scope="module")
def browser(chromium, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=chromium, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900}, accept_downloads=True)
        yield context
        context.close()


@pytest.fixture
def page(browser, server):
    """A new tab; console errors and uncaught exceptions are collected in page.problems."""
    tab = browser.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    tab.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
           if message.type == "error" else None)
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.problems = problems
    tab.base = server
    yield tab
    tab.close()


def api(server: str, path: str, **params) -> dict:
    response = requests.get(server + path, params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def open_dashboard(page, fragment: str = "") -> None:
    page.goto(page.base + "/" + fragment)
    page.wait_for_selector("body[data-state=ready][data-drawn]")


def after_update(page, action) -> None:
    """Do something that redraws the charts, and wait until they are drawn again."""
    before = int(page.get_attribute("body", "data-drawn") or 0)
    action()
    page.wait_for_function(f"document.body.dataset.drawn > {before} && document.body.dataset.state === 'ready'")


def traces(page, chart: str) -> list[dict]:
    return page.evaluate(f"""Array.from(document.getElementById('{chart}').data || [],
                                        t => ({{name: t.name, x: Array.from(t.x), y: Array.from(t.y)}}))""")


def shown_range(region: dict, hours: int) -> tuple[str, str]:
    """The range the page asks for: `hours` ending after the region's newest interval."""
    source = next(s for s in region["sources"] if s["default"])
    end = datetime.fromisoformat(region["newest_data"]) + timedelta(minutes=source["interval_minutes"])
    end = min(end, datetime.now(timezone.utc))
    return (end - timedelta(hours=hours)).isoformat(), end.isoformat()


def region_doc(server: str, code: str) -> dict:
    return next(r for r in api(server, "/regions/")["regions"] if r["id"] == code)


def expected_series(server: str, code: str, hours: int) -> tuple[dict, dict, dict]:
    """The API's own answers for what the page shows: mix, intensity and the forecast."""
    start, end = shown_range(region_doc(server, code), hours)
    mix = api(server, "/energy-mixture/", region=code, start=start, end=end)
    intensity = api(server, "/carbon-intensity/", region=code, start=start, end=end)
    issued = datetime.fromisoformat(end).replace(minute=0, second=0, microsecond=0)
    forecast = api(server, "/carbon-intensity/forecast/", region=code, horizon_hours=24, issued_at=issued.isoformat())
    return mix, intensity, forecast


def lowest_window(points: list[dict], hours: int, step_minutes: int = 60) -> str:
    """Start of the `hours` of consecutive points (no gap) with the lowest mean (first of ties)."""
    count = hours * 60 // step_minutes
    best = None
    for i in range(len(points) - count + 1):
        run = points[i:i + count]
        span = datetime.fromisoformat(run[-1]["timestamp"]) - datetime.fromisoformat(run[0]["timestamp"])
        if span != timedelta(minutes=step_minutes * (count - 1)):
            continue
        mean = sum(p["carbon_intensity"] for p in run) / count
        if best is None or mean < best[0]:
            best = (mean, run[0]["timestamp"])
    return best[1]


def same_instant(a: str, b: str) -> bool:
    parse = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))  # noqa: E731
    moment_a, moment_b = parse(a), parse(b)
    if moment_a.tzinfo is None:  # plotly keeps dates as naive strings: UTC here
        moment_a = moment_a.replace(tzinfo=timezone.utc)
    if moment_b.tzinfo is None:
        moment_b = moment_b.replace(tzinfo=timezone.utc)
    return moment_a == moment_b


def assert_mix_drawn(page, mix: dict) -> None:
    drawn = {t["name"]: t for t in traces(page, "mix-chart")}
    fuels = {fuel for m in mix["mixtures"] for fuel in m["fuels"]}
    assert set(drawn) == fuels
    for fuel, trace in drawn.items():
        assert len(trace["x"]) == len(mix["mixtures"])
        assert trace["y"] == [m["fuels"].get(fuel, 0) for m in mix["mixtures"]]
    assert page.get_attribute("#mix-chart", "data-points") == str(len(mix["mixtures"]))


def assert_intensity_drawn(page, intensity: dict, forecast: dict) -> None:
    drawn = {t["name"]: t for t in traces(page, "intensity-chart")}
    measured = drawn[f"measured ({intensity['emission_factor_type']})"]
    assert measured["y"] == pytest.approx([p["carbon_intensity"] for p in intensity["carbon_intensities"]])
    assert same_instant(measured["x"][0], intensity["carbon_intensities"][0]["timestamp"])
    predicted = drawn[f"forecast ({forecast['model']['name']})"]
    assert predicted["y"] == pytest.approx([p["carbon_intensity"] for p in forecast["forecast"]])


def test_page_draws_what_the_api_answers(page, server):
    open_dashboard(page)
    # The default region is the one with the newest data: NYISO's 5-minute feed.
    assert page.input_value("#region") == "NYIS"
    mix, intensity, forecast = expected_series(server, "NYIS", 24)
    assert len(mix["mixtures"]) == 288 and len(intensity["carbon_intensities"]) == 288
    assert_mix_drawn(page, mix)
    assert_intensity_drawn(page, intensity, forecast)
    assert page.is_hidden("#mix-message") and page.is_hidden("#intensity-message")

    # Each fuel's share of the range's generation, in the same colour as its area above.
    bars = page.evaluate("""(() => { const t = document.getElementById('share-chart').data[0];
                                     return {fuels: Array.from(t.y), shares: Array.from(t.x), colours: t.marker.color}; })()""")
    energy = {fuel: sum(max(m["fuels"].get(fuel, 0), 0) for m in mix["mixtures"]) for fuel in bars["fuels"]}
    assert set(energy) == {fuel for m in mix["mixtures"] for fuel in m["fuels"]}
    assert bars["shares"] == pytest.approx([100 * energy[f] / sum(energy.values()) for f in bars["fuels"]])
    areas = page.evaluate("Object.fromEntries(document.getElementById('mix-chart').data.map(t => [t.name, t.fillcolor]))")
    assert bars["colours"] == [areas[f] for f in bars["fuels"]]
    assert len(set(bars["colours"])) == len(bars["fuels"])

    # The lowest-carbon window (3 h by default) is the one computed here from the forecast.
    start = lowest_window(forecast["forecast"], 3)
    shape = page.evaluate("document.getElementById('intensity-chart').layout.shapes[0]")
    assert same_instant(shape["x0"], start)
    assert same_instant(shape["x1"], (datetime.fromisoformat(start) + timedelta(hours=3)).isoformat())
    assert start.replace("T", " ")[:16] in page.inner_text("#best-window")
    # ... and the lowest 3 h of the measured 5-minute data shown, marked beside it.
    measured_start = lowest_window(intensity["carbon_intensities"], 3, 5)
    shape = page.evaluate("document.getElementById('intensity-chart').layout.shapes[1]")
    assert same_instant(shape["x0"], measured_start)
    assert f"In the range shown: {measured_start.replace('T', ' ')[:16]} UTC" in page.inner_text("#best-window")

    # Freshness table: one row per source, in the API's state.
    sources = api(server, "/sources/")["sources"]
    rows = page.locator("#freshness tbody tr")
    assert rows.count() == len(sources)
    for i, source in enumerate(sources):
        cells = rows.nth(i).locator("th, td").all_inner_texts()
        assert cells[0] == source["name"] and cells[1] == source["state"].replace("_", " ")

    # The map shades every region that has data and a boundary, and nothing else.
    page.wait_for_selector("#map[data-regions]")
    boundaries = {f["properties"]["id"] for f in api(server, "/dashboard/boundaries.geojson")["features"]}
    with_data = {r["id"] for r in api(server, "/regions/")["regions"] if r["newest_data"]}
    shaded = set(page.eval_on_selector_all("#map path[tabindex]", "paths => paths.map(p => p.dataset.region)"))
    assert shaded == with_data & boundaries and "NYIS" in shaded

    artifacts = Path(os.environ.get("ENERGY_DATA_HOME", REPO / ".energy-data")) / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"dashboard screenshot: {shot}")
    assert shot.stat().st_size > 10_000
    assert page.problems == []


def test_switching_region_and_range_redraws(page, server):
    open_dashboard(page)
    after_update(page, lambda: page.select_option("#region", "PACW"))
    mix, intensity, forecast = expected_series(server, "PACW", 24)
    assert len(mix["mixtures"]) == 24  # EIA: hourly
    assert_mix_drawn(page, mix)
    assert_intensity_drawn(page, intensity, forecast)

    # With the keyboard: from "24 h", the arrow key selects "7 days".
    page.focus("input[name=range][value='24h']")
    after_update(page, lambda: page.keyboard.press("ArrowRight"))
    assert page.is_checked("input[name=range][value='7d']")
    mix, intensity, forecast = expected_series(server, "PACW", 24 * 7)
    assert len(mix["mixtures"]) > 24 * 6
    assert_mix_drawn(page, mix)
    assert_intensity_drawn(page, intensity, forecast)

    # A click on the map picks the region (and keeps the range) ...
    page.wait_for_selector("#map[data-regions]")
    after_update(page, lambda: page.click("#map path[data-region='CISO']"))
    assert page.input_value("#region") == "CISO"
    mix, _, _ = expected_series(server, "CISO", 24 * 7)
    assert_mix_drawn(page, mix)
    assert "region=CISO" in page.url and "range=7d" in page.url
    # ... and so does Enter on a region focused with the keyboard.
    page.focus("#map path[data-region='NYIS']")
    after_update(page, lambda: page.keyboard.press("Enter"))
    assert page.input_value("#region") == "NYIS"
    assert page.get_attribute("#mix-chart", "data-points") == str(len(expected_series(server, "NYIS", 24 * 7)[0]["mixtures"]))

    # 30 days: more than the two recorded days, so the API's coverage note is shown beside the chart.
    after_update(page, lambda: page.check("input[name=range][value='30d']"))
    mix, intensity, forecast = expected_series(server, "NYIS", 24 * 30)
    assert len(mix["mixtures"]) == 576
    assert_mix_drawn(page, mix)
    assert_intensity_drawn(page, intensity, forecast)
    assert page.inner_text("#mix-message") == f"Note: {mix['coverage']['note']}."
    assert page.problems == []


@pytest.mark.parametrize("fragment", [
    '#region=NYIS&range=x"]',   # once a selector SyntaxError: the page never rendered
    "#region=NOWHERE&range=week&factor=bogus&window=-5&start=<b>x</b>&end=2025-13-99T99:99&map=moon",
])
def test_unknown_or_invalid_url_values_are_ignored(page, server, fragment):
    open_dashboard(page, fragment)
    assert page.input_value("#region") == "NYIS"  # given, or the default: the newest data
    assert page.is_checked("input[name=range][value='24h']") and page.is_hidden("#custom-range")
    assert (page.input_value("#factor"), page.input_value("#window-hours")) == ("lifecycle", "3")
    assert page.input_value("#map-view") == "area"
    mix, intensity, forecast = expected_series(server, "NYIS", 24)
    assert_mix_drawn(page, mix)
    assert_intensity_drawn(page, intensity, forecast)
    assert page.problems == []


def test_custom_range_typed_in(page, server):
    open_dashboard(page, "#region=NYIS&range=24h")
    page.check("input[name=range][value='custom']")
    page.fill("#custom-start", "2025-02-19T12:00")
    page.fill("#custom-end", "2025-02-20T00:00")
    after_update(page, lambda: page.press("#custom-end", "Enter"))  # or the Show button
    mix = api(server, "/energy-mixture/", region="NYIS", start="2025-02-19T12:00Z", end="2025-02-20T00:00Z")
    assert len(mix["mixtures"]) == 144
    assert_mix_drawn(page, mix)
    intensity = api(server, "/carbon-intensity/", region="NYIS", start="2025-02-19T12:00Z", end="2025-02-20T00:00Z")
    forecast = api(server, "/carbon-intensity/forecast/", region="NYIS", horizon_hours=24,
                   issued_at="2025-02-20T00:00Z")
    assert_intensity_drawn(page, intensity, forecast)

    # Direct (combustion) factors: the line is the API's direct intensity.
    after_update(page, lambda: page.select_option("#factor", "direct"))
    direct = api(server, "/carbon-intensity/", region="NYIS", start="2025-02-19T12:00Z", end="2025-02-20T00:00Z",
                 emission_factor_type="direct")
    forecast = api(server, "/carbon-intensity/forecast/", region="NYIS", horizon_hours=24,
                   issued_at="2025-02-20T00:00Z", emission_factor_type="direct")
    assert_intensity_drawn(page, direct, forecast)
    assert direct["carbon_intensities"][0]["carbon_intensity"] < intensity["carbon_intensities"][0]["carbon_intensity"]
    assert page.problems == []


def test_csv_holds_the_numbers_of_the_chart(page, server):
    open_dashboard(page, "#region=NYIS&range=24h")
    mix, intensity, _ = expected_series(server, "NYIS", 24)
    with page.expect_download() as download:
        page.click("#mix-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(rows) == len(mix["mixtures"])
    for row, m in zip(rows, mix["mixtures"]):
        assert row["timestamp_utc"] == m["timestamp"]
        assert float(row["total_generation_mw"]) == m["total_generation_mw"]
        for fuel, mw in m["fuels"].items():
            assert float(row[f"{fuel}_mw"]) == mw
    with page.expect_download() as download:
        page.click("#intensity-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [float(r["carbon_intensity_gco2eq_per_kwh"]) for r in rows] == pytest.approx(
        [p["carbon_intensity"] for p in intensity["carbon_intensities"]])


def test_an_empty_range_says_so(page, server):
    open_dashboard(page, "#region=NYIS&range=custom&start=2024-06-01T00:00&end=2024-06-02T00:00")
    assert page.is_hidden("#mix-chart") and page.is_hidden("#intensity-chart") and page.is_hidden("#share-chart")
    answer = api(server, "/energy-mixture/", region="NYIS", start="2024-06-01T00:00Z", end="2024-06-02T00:00Z")
    assert answer["mixtures"] == []
    message = page.inner_text("#mix-message")
    assert message.startswith("No generation data for NYIS") and answer["coverage"]["note"] in message
    assert page.inner_text("#intensity-message").startswith("No carbon-intensity data for NYIS")
    assert page.is_disabled("#mix-csv")


def test_a_refused_range_shows_the_api_message(page, server):
    # Over the API's 31-day cap at native resolution: a 400 whose message the page shows.
    open_dashboard(page, "#region=NYIS&range=custom&start=2025-01-01T00:00&end=2025-02-21T00:00")
    refused = requests.get(server + "/energy-mixture/", params={
        "region": "NYIS", "start": "2025-01-01T00:00Z", "end": "2025-02-21T00:00Z"}, timeout=30)
    assert refused.status_code == 400
    message = page.inner_text("#mix-message")
    assert refused.json()["error"]["message"] in message and "HTTP 400" in message
    assert page.is_hidden("#mix-chart")


def test_a_server_error_shows_a_readable_message(page, server):
    # A 500 is always a bug, so none can be asked of the real server: the browser is given one
    # in the API's error shape for the mix, and a body that is not JSON for the intensity.
    page.route("**/energy-mixture/**", lambda route: route.fulfill(
        status=500, content_type="application/json",
        body='{"error": {"code": "internal_error", "message": "an internal error occurred; it has been logged"}}'))
    page.route(lambda url: urlsplit(url).path == "/carbon-intensity/",
               lambda route: route.fulfill(status=500, body="Internal Server Error"))
    open_dashboard(page)
    assert page.inner_text("#mix-message") == ("Could not load the generation mix: an internal error occurred; "
                                               "it has been logged (HTTP 500).")
    assert page.inner_text("#intensity-message").startswith("Could not load the carbon intensity:")
    assert "HTTP 500" in page.inner_text("#intensity-message")
    assert page.is_hidden("#mix-chart") and page.is_hidden("#share-chart")
    # The forecast still answers and is still drawn, alone.
    names = [t["name"] for t in traces(page, "intensity-chart")]
    assert names and all(name.startswith("forecast") for name in names)


# -- the world map: zones outside the US, from the boundaries file built from the samples ------

RAMP = ["#2166AC", "#67A9CF", "#D1E5F0", "#FDDBC7", "#EF8A62", "#8C2D04"]
# The picker's groups: the first part of a region's IANA time zone.
AREAS = {"America": "Americas", "Europe": "Europe", "Australia": "Australia", "Pacific": "Pacific"}


def ramp_colour(value: float, maximum: float = 800) -> str:
    """The map's colour for a value, computed here: linear between the six ramp colours."""
    t = max(0.0, min(1.0, value / maximum)) * (len(RAMP) - 1)
    i = min(int(t), len(RAMP) - 2)
    a, b = ([int(hex_[k:k + 2], 16) for k in (1, 3, 5)] for hex_ in RAMP[i:i + 2])
    return "rgb(" + ",".join(str(math.floor(x + (y - x) * (t - i) + 0.5)) for x, y in zip(a, b)) + ")"


def newest_by_hand(db_url: str, zone: str, factor_set: str = "lifecycle") -> tuple[datetime, float]:
    """The newest hour of a hand-made A75 body, priced here with the zone's factors."""
    series, minutes = HAND_MADE_A75[zone]
    mixes = hourly_mix(series, minutes)
    last = max(mixes)
    with psycopg2.connect(db_url) as conn, conn.cursor() as cur:
        return last, hand_intensity(mixes[last], factors(cur, zone, last, factor_set))


def shown_on_map(page, selector: str) -> set[str]:
    return set(page.eval_on_selector_all(selector, "paths => paths.map(p => p.dataset.region)"))


def view_box(page) -> list[float]:
    return [float(v) for v in page.get_attribute("#map svg", "viewBox").split()]


def inside_view(page, region: str) -> bool:
    x, y, width, height = view_box(page)
    box = page.evaluate(f"(() => {{ const b = document.getElementById('map-{region}').getBBox(); "
                        "return [b.x, b.y, b.x + b.width, b.y + b.height]; })()")
    return x <= box[0] and box[2] <= x + width and y <= box[1] and box[3] <= y + height


def test_the_world_map_shades_european_and_australian_zones(page, server, world_data):
    open_dashboard(page, "#region=NL")
    page.wait_for_selector("#map[data-factor=lifecycle]")
    boundaries = {f["properties"]["id"] for f in api(server, "/dashboard/boundaries.geojson")["features"]}
    regions = {r["id"]: r for r in api(server, "/regions/")["regions"] if r["newest_data"]}
    shaded = shown_on_map(page, "#map path[tabindex]")
    assert shaded == set(regions) & boundaries
    assert {"NL", "SE-SE3", "AU-NSW", "NYIS", "CISO", "PACW"} <= shaded
    # The file's other zones are drawn grey and inert, for orientation; FI has data but no outline.
    grey = shown_on_map(page, "#map path.nodata")
    assert {"FR", "IE", "SE-SE1", "NO-NO5", "IT-SIC", "AU-VIC", "AU-WA", "CA-QC"} <= grey and not grey & set(regions)
    assert page.inner_text("#map-message") == "Not on the map (no outline in the installed boundaries): FI."

    # Each zone is shaded by its newest interval: an hour of the hand-made body priced here.
    for zone in ("NL", "SE-SE3"):
        hour, value = newest_by_hand(world_data, zone)
        assert page.get_attribute(f"#map-{zone}", "fill") == ramp_colour(value)
        assert f"{value:.0f} gCO2eq/kWh at {hour:%Y-%m-%d %H:%M} UTC" in page.text_content(f"#map-{zone} title")
    nl, se3 = (newest_by_hand(world_data, zone)[1] for zone in ("NL", "SE-SE3"))
    assert nl > 300 > 100 > se3  # gas against nuclear and hydro: two ends of the ramp
    nsw = region_doc(server, "AU-NSW")["newest_data"]
    point = api(server, "/carbon-intensity/", region="AU-NSW", start=nsw,
                end=(datetime.fromisoformat(nsw) + timedelta(minutes=5)).isoformat())["carbon_intensities"]
    assert page.get_attribute("#map-AU-NSW", "fill") == ramp_colour(point[0]["carbon_intensity"])

    # Drawn where they are: cities fall inside their zone's outline, not another's.
    inside = page.evaluate("""places => places.map(([lon, lat, zone]) => {
        const [x, y] = project(lon, lat);
        return document.getElementById('map-' + zone).isPointInFill(new DOMPoint(x, y)); })""",
                           [[4.9041, 52.3676, "NL"], [18.0686, 59.3293, "SE-SE3"], [151.2093, -33.8688, "AU-NSW"],
                            [-73.9712, 40.7831, "NYIS"], [151.2093, -33.8688, "NL"], [4.9041, 52.3676, "NYIS"]])
    assert inside == [True, True, True, True, False, False]
    # An equal-area projection: a 10-degree cell at 60 N is drawn with the area it has on the sphere.
    cells = page.evaluate("""cells => cells.map(([lon, lat]) => {
        const edge = [];
        for (let i = 0; i <= 40; i++) edge.push(project(lon + i / 4, lat));
        for (let i = 0; i <= 40; i++) edge.push(project(lon + 10, lat + i / 4));
        for (let i = 40; i >= 0; i--) edge.push(project(lon + i / 4, lat + 10));
        for (let i = 40; i >= 0; i--) edge.push(project(lon, lat + i / 4));
        let twice = 0;
        edge.forEach(([x1, y1], i) => { const [x2, y2] = edge[(i + 1) % edge.length]; twice += x1 * y2 - x2 * y1; });
        return Math.abs(twice) / 2; })""", [[0, 0], [100, 60]])
    sphere = (math.sin(math.radians(10)) - 0) / (math.sin(math.radians(70)) - math.sin(math.radians(60)))
    assert cells[0] / cells[1] == pytest.approx(sphere, rel=1e-3)

    # The first view is the area of the selected region: Europe for NL, without the US in it.
    assert page.input_value("#map-view") == "area"
    assert inside_view(page, "NL") and inside_view(page, "SE-SE3") and not inside_view(page, "NYIS")

    # Tab from the view's control reaches the first shaded region (by id), Enter shows it.
    page.focus("#map-view")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.region") == "AU-NSW"
    after_update(page, lambda: page.keyboard.press("Enter"))
    assert page.input_value("#region") == "AU-NSW"
    assert page.problems == []


def test_clicking_a_european_zone_selects_it_and_draws_its_charts(page, server, world_data):
    open_dashboard(page)  # NYIS, the newest data: the map shows North America
    page.wait_for_selector("#map[data-factor=lifecycle]")
    assert inside_view(page, "NYIS") and not inside_view(page, "NL")
    page.select_option("#map-view", "europe")
    assert inside_view(page, "NL") and not inside_view(page, "NYIS") and "map=europe" in page.url
    after_update(page, lambda: page.click("#map-NL"))
    assert page.input_value("#region") == "NL" and "region=NL" in page.url
    mix, intensity, forecast = expected_series(server, "NL", 24)
    assert len(mix["mixtures"]) == 24  # the quarter-hours of the body, stored as hourly means
    assert_mix_drawn(page, mix)
    assert_intensity_drawn(page, intensity, forecast)
    assert page.get_attribute("#map use.selected-outline", "href") == "#map-NL"
    assert page.inner_text("#region-info").startswith(
        "NL, Netherlands (local time zone Europe/Amsterdam): source ENTSOE (60-minute), data 2025-02-19 00:00 UTC")

    # With the keyboard: Sweden's SE3 focused (as Tab does) and Enter.
    page.focus("#map-SE-SE3")
    after_update(page, lambda: page.keyboard.press("Enter"))
    assert page.input_value("#region") == "SE-SE3"
    mix, intensity, forecast = expected_series(server, "SE-SE3", 24)
    assert_mix_drawn(page, mix)
    assert_intensity_drawn(page, intensity, forecast)
    assert {t["name"] for t in traces(page, "mix-chart")} == {"nuclear", "hydro", "wind", "other"}

    # Zoomed to the selected region: SE3 fills the view, its neighbours in Norway do not.
    page.select_option("#map-view", "selected")
    assert inside_view(page, "SE-SE3") and view_box(page)[2] < 100 and not inside_view(page, "IE")

    # Australia: its preset view, and New South Wales picked on it.
    page.select_option("#map-view", "australia")
    after_update(page, lambda: page.click("#map-AU-NSW"))
    start, end = shown_range(region_doc(server, "AU-NSW"), 24)
    assert_mix_drawn(page, api(server, "/energy-mixture/", region="AU-NSW", start=start, end=end))

    # Direct factors recolour the map from the same single request.
    requests_seen: list[str] = []
    page.on("request", lambda request: requests_seen.append(urlsplit(request.url).path))
    after_update(page, lambda: page.select_option("#factor", "direct"))
    page.wait_for_selector("#map[data-factor=direct]")
    _, direct = newest_by_hand(world_data, "NL", "direct")
    assert page.get_attribute("#map-NL", "fill") == ramp_colour(direct)
    assert requests_seen.count("/carbon-intensity/latest/") == 1
    assert page.problems == []


def test_the_picker_groups_the_regions_and_finds_them(page, server):
    open_dashboard(page)
    regions = [r for r in api(server, "/regions/")["regions"] if r["sources"]]
    expected: dict[str, list[str]] = {}
    for r in sorted(regions, key=lambda r: r["id"]):
        expected.setdefault(AREAS[r["time_zone"].split("/")[0]], []).append(r["id"])
    groups = page.eval_on_selector_all("#region optgroup", "groups => groups.map(g => [g.label, "
                                                           "Array.from(g.children, o => o.value)])")
    assert groups == [[area, ids] for area, ids in sorted(expected.items())]
    assert dict(groups)["Europe"] == ["FI", "NL", "SE-SE3"] and dict(groups)["Australia"] == ["AU-NSW"]
    assert page.inner_text("#region-count") == f"{len(regions)} regions with data"

    def visible() -> list[str]:
        return page.eval_on_selector_all("#region option:not([hidden])", "options => options.map(o => o.value)")
    page.fill("#region-filter", "sweden")  # a word of SE-SE3's name
    assert visible() == ["SE-SE3"] and page.inner_text("#region-count") == f"1 of {len(regions)} regions match"
    assert page.is_hidden("#region optgroup[label=Americas]")
    after_update(page, lambda: page.press("#region-filter", "Enter"))
    assert page.input_value("#region") == "SE-SE3"
    assert_mix_drawn(page, expected_series(server, "SE-SE3", 24)[0])
    page.fill("#region-filter", "10ynl")  # the Netherlands' EIC code, an alias
    assert visible() == ["NL"]
    page.fill("#region-filter", "europe helsinki")  # every word, here in the time zone
    assert visible() == ["FI"]
    page.fill("#region-filter", "")
    assert len(visible()) == len(regions)
    assert page.problems == []


@pytest.fixture(scope="module")
def server_without_boundaries(world_data, tmp_path_factory):
    """The same data served by an app whose boundaries file does not exist."""
    from api import create_app
    from api.faces.http import core

    previous = os.environ.get("ENERGY_DATA_BOUNDARIES")
    os.environ["ENERGY_DATA_BOUNDARIES"] = str(tmp_path_factory.mktemp("none") / "boundaries.geojson")
    app = create_app(world_data)
    with app.app_context():
        assert core().locator.boundaries() is None  # read now, while the variable names no file
    os.environ["ENERGY_DATA_BOUNDARIES"] = previous
    with serving(app) as url:
        yield url


def test_without_boundaries_the_picker_alone_shows_every_region(page, server_without_boundaries):
    page.base = server_without_boundaries
    assert api(page.base, "/dashboard/boundaries.geojson")["features"] == []
    open_dashboard(page, "#region=SE-SE3")
    assert page.is_hidden("#map-section")
    assert page.input_value("#region") == "SE-SE3"
    mix, intensity, forecast = expected_series(page.base, "SE-SE3", 24)
    assert_mix_drawn(page, mix)
    assert_intensity_drawn(page, intensity, forecast)
    after_update(page, lambda: page.select_option("#region", "AU-NSW"))
    start, end = shown_range(region_doc(page.base, "AU-NSW"), 24)
    assert_mix_drawn(page, api(page.base, "/energy-mixture/", region="AU-NSW", start=start, end=end))
    assert page.problems == []


def test_forecast_interval_band_is_drawn(page, server, filled):
    # The recorded fixtures hold days, not the ~38 days the model needs, so the model's own
    # forecast (with its interval) is asked of generated hourly history up to now for ERCO,
    # written through the real write path. Last in this module: it adds a region with data.
    from tests.test_api_forecast import write_history

    now_hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    hours = [now_hour - timedelta(hours=h) for h in range(60 * 24, 0, -1)]
    write_history(filled, "ERCO", pd.DatetimeIndex(hours))
    open_dashboard(page, "#region=ERCO&range=24h&window=4")
    forecast = api(server, "/carbon-intensity/forecast/", region="ERCO", horizon_hours=24)
    assert forecast["model"]["name"] == "ridge_same_hour" and forecast["model"]["interval_level"]
    drawn = {t["name"]: t for t in traces(page, "intensity-chart")}
    band = drawn[f"forecast {round(forecast['model']['interval_level'] * 100)} % interval"]
    assert band["y"] == pytest.approx([p["upper"] for p in forecast["forecast"]])
    assert drawn["forecast lower"]["y"] == pytest.approx([p["lower"] for p in forecast["forecast"]])
    fill = page.evaluate("document.getElementById('intensity-chart').data.map(t => t.fill || null)")
    assert "tonexty" in fill
    shape = page.evaluate("document.getElementById('intensity-chart').layout.shapes[0]")
    assert same_instant(shape["x0"], lowest_window(forecast["forecast"], 4))
    # No mix model for the region: the message says the history-only model answered, and why.
    assert page.inner_text("#forecast-message") == ("Forecast: ridge_same_hour, from the intensity history only, "
                                                    f"because {forecast['model']['fallback_reason']}.")
    assert page.problems == []
