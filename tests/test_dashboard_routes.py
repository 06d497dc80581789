"""The server side of the dashboard: GET /sources/ (freshness per source, from real crawl runs
and readings in PostgreSQL), the page and its locally served assets, and the map's boundaries."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pandas as pd
import psycopg2
import pytest

from api import create_app
from api.faces.native.dashboard import plotly_bundle
from database.crawl_runs import finish_run, start_run
from database.dimensions import sync_source
from database.readings import write_readings


def write_source(db_url: str, name: str, newest: pd.Timestamp, runs: list[tuple[str, str | None]],
                 hours: int = 3) -> None:
    """A test source with `hours` of hourly gas readings for ERCO ending at `newest`, and
    crawl runs (status, error) in that order."""
    conn = psycopg2.connect(db_url)
    with conn, conn.cursor() as cur:
        source_id = sync_source(cur, name, f"{name} written by the test", timedelta(hours=1), 60, timedelta(hours=6))
        if hours:
            stamps = pd.date_range(end=newest, periods=hours, freq="h")
            write_readings(cur, source_id, pd.DataFrame(
                {"region": "ERCO", "timestamp": stamps, "fuel": "gas", "mw": 1000.0}), 60)
    conn.autocommit = True  # one run per statement, as the crawler books them: each has its own time
    with conn.cursor() as cur:
        for status, error in runs:
            finish_run(cur, start_run(cur, source_id, "run"), status, error=error)
    conn.close()


def test_sources_say_how_fresh_each_feed_is(db_url):
    now = pd.Timestamp.now(tz="UTC").floor("h")
    write_source(db_url, "TFRESH", now - pd.Timedelta(hours=1), [("ok", None)])
    write_source(db_url, "TSTALE", now - pd.Timedelta(days=2), [("ok", None)])
    write_source(db_url, "TFAILING", now - pd.Timedelta(hours=1), [("ok", None), ("failed", "HTTP 503 from upstream")])
    write_source(db_url, "TEMPTY", now, [("failed", "connection refused")], hours=0)
    answer = create_app(db_url).test_client().get("/sources/")
    assert answer.status_code == 200
    by_name = {s["name"]: s for s in answer.get_json()["sources"]}
    assert {name: by_name[name]["state"] for name in ("TFRESH", "TSTALE", "TFAILING", "TEMPTY")} == {
        "TFRESH": "ok", "TSTALE": "stale", "TFAILING": "failing", "TEMPTY": "no_data"}
    fresh = by_name["TFRESH"]
    assert fresh["newest_data"] == (now - pd.Timedelta(hours=1)).isoformat()
    assert (fresh["rows"], fresh["regions"], fresh["stale_after_minutes"], fresh["last_status"]) == (3, 1, 360, "ok")
    assert fresh["last_success"] is not None and fresh["last_error"] is None
    failing = by_name["TFAILING"]
    assert failing["last_error"] == "HTTP 503 from upstream" and failing["last_success"] is not None
    assert by_name["TEMPTY"]["last_success"] is None and by_name["TEMPTY"]["newest_data"] is None


def test_sources_rejects_parameters(db_url):
    answer = create_app(db_url).test_client().get("/sources/?region=CISO")
    assert answer.status_code == 400 and answer.get_json()["error"]["parameter"] == "region"


def test_the_page_uses_only_local_assets(db_url):
    client = create_app(db_url).test_client()
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html  # no CDN: the page works offline
    for asset in ("/dashboard/plotly.min.js", "/static/dashboard/dashboard.js", "/static/dashboard/dashboard.css"):
        assert f'"{asset}"' in html
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        answer.close()
    bundle = client.get("/dashboard/plotly.min.js")
    assert bundle.mimetype == "application/javascript"
    assert bundle.get_data() == plotly_bundle().read_bytes()
    bundle.close()


def test_boundaries_for_the_map(db_url, shared_fixtures, monkeypatch):
    monkeypatch.setenv("ENERGY_DATA_BOUNDARIES", str(shared_fixtures.parent / "geo" / "us_zones.geojson"))
    answer = create_app(db_url).test_client().get("/dashboard/boundaries.geojson")
    assert answer.status_code == 200
    collection = json.loads(answer.get_data())
    codes = [f["properties"]["id"] for f in collection["features"]]
    assert len(codes) == len(set(codes)) and {"CISO", "NYIS", "ERCO", "PJM"} <= set(codes)
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in collection["features"])


def test_no_boundaries_gives_an_empty_map(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("ENERGY_DATA_BOUNDARIES", str(tmp_path / "absent.geojson"))
    collection = create_app(db_url).test_client().get("/dashboard/boundaries.geojson").get_json()
    assert collection["features"] == [] and "make boundaries" in collection["note"]


@pytest.mark.parametrize("body", [b"{not json", b'{"type": "Point", "coordinates": [0, 0]}'])
def test_unusable_boundaries_say_why(db_url, tmp_path, monkeypatch, body):
    path = tmp_path / "bad.geojson"
    path.write_bytes(body)
    monkeypatch.setenv("ENERGY_DATA_BOUNDARIES", str(path))
    collection = create_app(db_url).test_client().get("/dashboard/boundaries.geojson").get_json()
    assert collection["features"] == [] and str(path) in collection["note"]


def test_latest_intensity_is_each_region_s_newest_interval_of_its_default_source(db_url, shared_fixtures):
    from tests.apihelp import fill

    fill(shared_fixtures)  # NYISO's two days, EIA's week of PACW, CAISO's hand-written day
    now = pd.Timestamp.now(tz="UTC").floor("h")
    # ERCO from two test sources of gas only: a live one, and one stopped two days ago.
    write_source(db_url, "TLIVE", now - pd.Timedelta(hours=1), [("ok", None)])
    write_source(db_url, "TOLD", now - pd.Timedelta(days=2), [("ok", None)])
    client = create_app(db_url).test_client()
    regions = {r["id"]: r for r in client.get("/regions/").get_json()["regions"] if r["sources"]}
    factors = {name: {f["fuel"]: f["value"] for f in client.get("/emission-factors/", query_string={
        "region": "ERCO", "emission_factor_type": name}).get_json()["factors"]} for name in ("lifecycle", "direct")}
    for factor_set in ("lifecycle", "direct"):
        answer = client.get("/carbon-intensity/latest/", query_string={"emission_factor_type": factor_set})
        assert answer.status_code == 200
        body = answer.get_json()
        assert (body["emission_factor_type"], body["unit"]) == (factor_set, "gCO2eq/kWh")
        assert [p["region"] for p in body["regions"]] == sorted(regions) == ["CISO", "ERCO", "NYIS", "PACW"]
        for point in body["regions"]:
            default = next(s for s in regions[point["region"]]["sources"] if s["default"])
            assert (point["source"], point["interval_minutes"]) == (default["name"], default["interval_minutes"])
            assert point["timestamp"] == default["newest_data"] and point["stale"] == default["stale"]
            start = datetime.fromisoformat(point["timestamp"])
            served = client.get("/carbon-intensity/", query_string={
                "region": point["region"], "source": point["source"], "emission_factor_type": factor_set,
                "start": start.isoformat(), "end": (start + timedelta(minutes=1)).isoformat()}).get_json()
            (expected,) = served["carbon_intensities"]
            assert point["carbon_intensity"] == pytest.approx(expected["carbon_intensity"])
            assert point["estimated"] is expected["estimated"]
        erco = next(p for p in body["regions"] if p["region"] == "ERCO")
        # the live feed, not the stale one; gas alone: the intensity is gas' factor
        assert (erco["source"], erco["stale"]) == ("TLIVE", False)
        assert erco["timestamp"] == (now - pd.Timedelta(hours=1)).isoformat()
        assert erco["carbon_intensity"] == pytest.approx(factors[factor_set]["gas"])
    nyis = next(p for p in body["regions"] if p["region"] == "NYIS")
    assert nyis["timestamp"] == "2025-02-21T04:55:00+00:00"  # 23:55 EST on 2025-02-20, the file's last row


def test_latest_intensity_without_data_and_with_bad_parameters(db_url):
    client = create_app(db_url).test_client()
    assert client.get("/carbon-intensity/latest/").get_json()["regions"] == []
    for query, parameter in (("emission_factor_type=ipcc", "emission_factor_type"), ("region=CISO", "region")):
        answer = client.get(f"/carbon-intensity/latest/?{query}")
        assert answer.status_code == 400 and answer.get_json()["error"]["parameter"] == parameter
