"""python -m crawler import-emap-csv: Electricity Maps exports stored as source ELECTRICITYMAPS
and served by the normal read path (/carbon-intensity/, its forecast)."""
from __future__ import annotations

import csv
import re
from datetime import datetime, timedelta, timezone

import psycopg2
import pytest

from api import create_app
from crawler.__main__ import read_payload
from crawler.model import ParseError, Payload
from crawler.parsers import electricitymaps_csv as emap
from tests.conftest import HAND_WRITTEN, shared_dir
from tests.crawlhelp import crawler_cli

HAND = HAND_WRITTEN / "electricitymaps" / "handwritten_US-CAL-CISO_hourly.csv"
HEADER = HAND.read_text(encoding="utf-8").splitlines()[0]


@pytest.fixture(scope="module")
def traces():
    path = shared_dir() / "traces" / "em_hpe_sustain_cluster"
    if not path.is_dir():
        pytest.skip(f"Electricity Maps traces not found at {path} (set ENERGY_DATA_SHARED)")
    return path


def stored(db_url: str, sql: str, *params) -> list[tuple]:
    conn = psycopg2.connect(db_url, options="-c timezone=UTC")
    with conn, conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    conn.close()
    return rows


def file_rows(path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


# -- parse (pure) ------------------------------------------------------------------------

def test_parse_keeps_good_rows_and_counts_each_bad_one():
    parsed = emap.parse(read_payload(HAND))
    rows = parsed.rows
    assert [t.strftime("%H") for t in rows["timestamp"]] == ["08", "09", "10", "15", "16"]
    assert parsed.bad_rows == 5
    reasons = {a.message.split(":")[0]: a.count for a in parsed.anomalies if a.kind == "bad_row"}
    assert reasons == {"unreadable time": 1, "time not on the hour": 1, "intensity not a number in 0..5000": 1,
                       "no intensity": 1, "percentage not a number in 0..100": 1}
    assert "line 5" in next(a.message for a in parsed.anomalies if a.message.startswith("intensity"))
    assert [a.count for a in parsed.anomalies if a.kind == "repeated_interval"] == [1]
    first = rows.iloc[0]
    assert (first["zone"], first["timestamp"].isoformat()) == ("US-CAL-CISO", "2024-03-10T08:00:00+00:00")
    assert (first["lifecycle_g_per_kwh"], first["direct_g_per_kwh"]) == (260.25, 200.5)
    assert (first["low_carbon_share"], first["renewable_share"]) == pytest.approx((0.555, 0.4025))
    assert rows["estimated"].tolist() == [False, False, True, False, False]
    assert rows.iloc[2]["estimation_method"] == "ESTIMATED_TIME_SLICER_AVERAGE"
    assert rows.iloc[-1]["lifecycle_g_per_kwh"] == 195  # the repeated hour's last row


@pytest.mark.parametrize("body, why", [
    (b"<html><body>Sign in</body></html>", "HTML"),
    ("Datetime (UTC),Zone Id,Carbon Intensity gCO₂eq/kWh (LCA)\n2024-01-01 00:00:00,US-CAL-CISO,1\n".encode(),
     "'Carbon Intensity gCO₂eq/kWh (direct)' missing"),
    (HEADER.encode() + b"\n", "no data rows"),
    ((HEADER + "\n" + "\n".join(f"2024-01-0{d} 00:00:00,USA,CAISO,US-CAL-CISO,1,2,3,4,x,false," for d in (1, 2, 3))
      ).encode(), "not an hourly export"),
])
def test_parse_refuses_what_is_not_an_hourly_export(body, why):
    with pytest.raises(ParseError, match=re.escape(why)):
        emap.parse(Payload(body, "export.csv"))


def test_parse_reads_every_real_trace(traces):
    for path in sorted(traces.glob("*.csv")):
        parsed = emap.parse(read_payload(path))
        assert (len(parsed.rows), parsed.bad_rows) == (8760, 0), path.name
        assert parsed.rows["timestamp"].diff().dropna().eq("1h").all()


# -- import (CLI, real PostgreSQL) ---------------------------------------------------------

def test_import_of_a_real_year_is_idempotent_and_exact(db_url, traces):
    path = traces / "US-CAL-CISO_2022_hourly.csv"
    first = crawler_cli("import-emap-csv", str(path))
    assert first.returncode == 0, first.stderr
    assert "ELECTRICITYMAPS CISO: 8760 rows" in first.stdout
    assert "8760 inserted, 0 updated, 0 unchanged; 0 bad rows skipped" in first.stdout
    again = crawler_cli("import-emap-csv", str(path))
    assert again.returncode == 0, again.stderr
    assert "0 inserted, 0 updated, 8760 unchanged" in again.stdout
    assert stored(db_url, "SELECT r.code, s.name, x.row_count, x.first_ts::text, x.last_ts::text FROM series x "
                  "JOIN region r ON r.id = x.region_id JOIN source s ON s.id = x.source_id") == [
        ("CISO", "ELECTRICITYMAPS", 8760, "2022-01-01 00:00:00+00", "2022-12-31 23:00:00+00")]
    values = dict(((ts, (lc, d, ren, low)) for ts, lc, d, ren, low, total in stored(
        db_url, "SELECT to_char(ts, 'YYYY-MM-DD HH24:MI:SS'), lifecycle_g_per_kwh, direct_g_per_kwh, "
        "renewable_share, low_carbon_share, total_mw FROM carbon_intensity") if total is None))
    assert len(values) == 8760
    for row in file_rows(path)[::97]:
        assert values[row["Datetime (UTC)"]] == pytest.approx((
            float(row["Carbon Intensity gCO₂eq/kWh (LCA)"]), float(row["Carbon Intensity gCO₂eq/kWh (direct)"]),
            float(row["Renewable Percentage"]) / 100, float(row["Low Carbon Percentage"]) / 100))


def test_a_changed_value_is_an_update_and_bad_rows_are_reported(db_url, tmp_path):
    result = crawler_cli("import-emap-csv", str(HAND))
    assert result.returncode == 0, result.stderr
    assert "5 inserted, 0 updated, 0 unchanged; 5 bad rows skipped" in result.stdout
    assert "bad_row x1: time not on the hour: line 7" in result.stderr
    revised = tmp_path / "revised.csv"
    revised.write_text(HAND.read_text(encoding="utf-8").replace(",190,250,", ",191,251,"), encoding="utf-8")
    result = crawler_cli("import-emap-csv", str(revised))
    assert "0 inserted, 1 updated, 4 unchanged" in result.stdout, result.stdout + result.stderr
    assert stored(db_url, "SELECT lifecycle_g_per_kwh FROM carbon_intensity WHERE ts = '2024-03-10 09:00Z'") == [(251,)]
    assert stored(db_url, "SELECT estimated, estimation_method FROM reported_intensity WHERE ts = '2024-03-10 10:00Z'"
                  ) == [(True, "ESTIMATED_TIME_SLICER_AVERAGE")]


def test_an_unknown_zone_imports_nothing_and_says_which(db_url, tmp_path):
    other = tmp_path / "XX_hourly.csv"
    other.write_text(HEADER + "\n2024-01-01 00:00:00,Nowhere,Nowhere,XX-NOWHERE,1,2,3,4,x,false,\n", encoding="utf-8")
    result = crawler_cli("import-emap-csv", str(HAND), str(other))
    assert result.returncode == 1
    assert "unknown zone XX-NOWHERE" in result.stderr and "Traceback" not in result.stderr
    assert stored(db_url, "SELECT count(*) FROM carbon_intensity") == [(0,)]
    assert stored(db_url, "SELECT count(*) FROM reported_intensity") == [(0,)]


def test_an_unreadable_file_is_reported_and_the_others_imported(db_url, tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_text("<html>gateway timeout</html>")
    result = crawler_cli("import-emap-csv", str(broken), str(HAND))
    assert result.returncode == 1
    assert "broken.csv: not a CSV export" in result.stderr
    assert "5 inserted" in result.stdout and "1 file(s) not imported" in result.stdout


# -- served by the API ----------------------------------------------------------------------

def test_imported_series_is_served_and_forecast_from(db_url, traces, boundaries_env):
    path = traces / "US-CAL-CISO_2022_hourly.csv"
    assert crawler_cli("import-emap-csv", str(path)).returncode == 0
    client = create_app(db_url).test_client()
    answer = client.get("/carbon-intensity/", query_string={
        "region": "US-CAL-CISO", "source": "electricitymaps", "start": "2022-06-01T00:00:00Z",
        "end": "2022-06-02T00:00:00Z"})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["region"], body["source"], body["coverage"]["intervals"]) == ("CISO", "ELECTRICITYMAPS", 24)
    june = {r["Datetime (UTC)"]: r for r in file_rows(path) if r["Datetime (UTC)"].startswith("2022-06-01")}
    for point in body["carbon_intensities"]:
        row = june[point["timestamp"][:19].replace("T", " ")]
        assert point["carbon_intensity"] == pytest.approx(float(row["Carbon Intensity gCO₂eq/kWh (LCA)"]))
        assert point["low_carbon_ratio"] == pytest.approx(float(row["Low Carbon Percentage"]) / 100)
    # without source=, it is the region's only series, so it answers by default
    default = client.get("/carbon-intensity/", query_string={
        "location": "aws:us-west-1", "start": "2022-06-01T00:00:00Z", "end": "2022-06-01T01:00:00Z",
        "emission_factor_type": "direct"}).get_json()
    assert default["source"] == "ELECTRICITYMAPS"
    assert default["carbon_intensities"][0]["carbon_intensity"] == pytest.approx(
        float(june["2022-06-01 00:00:00"]["Carbon Intensity gCO₂eq/kWh (direct)"]))
    forecast = client.get("/carbon-intensity/forecast/", query_string={
        "region": "CISO", "source": "electricitymaps", "issued_at": "2022-06-01T00:00:00Z", "horizon_hours": 24})
    assert forecast.status_code == 200, forecast.get_json()
    made = forecast.get_json()
    # an imported series carries no fuel mix, so no mix model is ever fitted for it: the
    # history-only model answers (not its baseline, which would add "; then ...")
    assert made["source"] == "ELECTRICITYMAPS"
    assert made["model"]["fallback_reason"] == "no fitted mix model for this region: history-only model"
    assert len(made["forecast"]) == 24


def test_carbon_intensity_can_be_rebuilt_from_what_was_reported(db_url):
    from database.reported import rematerialise

    assert crawler_cli("import-emap-csv", str(HAND)).returncode == 0
    before = stored(db_url, "SELECT ts, lifecycle_g_per_kwh, direct_g_per_kwh, renewable_share, low_carbon_share "
                    "FROM carbon_intensity ORDER BY ts")
    conn = psycopg2.connect(db_url)
    with conn, conn.cursor() as cur:
        cur.execute("DELETE FROM carbon_intensity")
        cur.execute("DELETE FROM series")
        assert rematerialise(cur) == 5
    conn.close()
    assert stored(db_url, "SELECT ts, lifecycle_g_per_kwh, direct_g_per_kwh, renewable_share, low_carbon_share "
                  "FROM carbon_intensity ORDER BY ts") == before
    assert stored(db_url, "SELECT row_count FROM series") == [(5,)]


# -- hostile and damaged files (issue 23; future rows: issue 21) ------------------------------

@pytest.mark.parametrize("size", [emap.MAX_EXPORT_BYTES + 1, 1 << 30])
def test_a_file_over_the_size_bound_is_refused_before_it_is_read(db_url, tmp_path, size):
    huge = tmp_path / "x.csv"
    with open(huge, "wb") as file:
        file.truncate(size)  # sparse: NUL bytes, as `truncate -s 1G x.csv` makes
    result = crawler_cli("import-emap-csv", str(huge), str(HAND))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {huge}: {size:,} bytes, over the {emap.MAX_EXPORT_BYTES:,} read from one file; "
                      "not read"]
    assert len(result.stderr) < 2_000
    assert "5 inserted" in result.stdout and "1 file(s) not imported" in result.stdout


@pytest.mark.parametrize("body, code, words", [
    (b"\0" * 2_000_000, 1, "not a CSV export: the body holds NUL bytes"),
    (b"x" * 300_000 + b"\n1,2\n", 1, "not a readable CSV: a field of the header (line 1) is over 131,072"),
    (b"Datetime (UTC)," + b"z" * 100_000 + b"\n2024-01-01 00:00:00,1\n", 1, "zzzzzzzz..."),
    (HEADER.encode() + b"," + b"y" * 100_000 + b"\n" + b"1," * 11 + b"\n", 0, "unreadable time: line 2"),
])
def test_what_a_file_holds_is_never_echoed_at_length(db_url, tmp_path, body, code, words):
    odd = tmp_path / "odd.csv"
    odd.write_bytes(body)
    result = crawler_cli("import-emap-csv", str(odd))
    assert result.returncode == code and words in result.stderr, result.stderr[:300]
    assert len(result.stderr) < 1_000 and "Traceback" not in result.stderr


def test_malformed_rows_inside_a_real_export_are_skipped_and_counted_with_their_lines(db_url, traces, tmp_path):
    lines = (traces / "US-CAL-CISO_2022_hourly.csv").read_text(encoding="utf-8-sig").splitlines()
    damaged = list(lines)
    damaged[4999] += ",an extra field,and another"           # line 5000: more fields than the header
    damaged[6000] = damaged[6000].replace(",", ',"', 1)       # line 6001: a stray quote, its time unreadable
    path = tmp_path / "US-CAL-CISO_2022_hourly.csv"
    path.write_text("\n".join(damaged) + "\n", encoding="utf-8")
    result = crawler_cli("import-emap-csv", str(path))
    assert result.returncode == 0, result.stderr
    assert "8758 inserted, 0 updated, 0 unchanged; 2 bad rows skipped" in result.stdout
    assert "more fields than the header's 11 (or one over 131,072 characters): line 5000" in result.stderr
    assert "line 6001" in result.stderr
    stored_hours = {ts for ts, in stored(db_url, "SELECT to_char(ts, 'YYYY-MM-DD HH24:MI:SS') FROM carbon_intensity")}
    assert lines[4999][:19] not in stored_hours and lines[6000][:19] not in stored_hours
    assert lines[5000][:19] in stored_hours and len(stored_hours) == 8758


def test_bad_rows_among_good_ones_are_counted_not_taken_for_another_granularity(db_url, tmp_path):
    rows = [f"2024-03-11 {h:02d}:00:00,USA,CAISO,US-CAL-CISO,{'n/a' if h % 2 else 150 + h},{200 + h},60,45,x,false,"
            for h in range(24)]
    path = tmp_path / "every_other.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = crawler_cli("import-emap-csv", str(path))
    assert result.returncode == 0, result.stderr
    assert "12 inserted, 0 updated, 0 unchanged; 12 bad rows skipped" in result.stdout
    assert "hourly" not in result.stderr
    assert "intensity not a number in 0..5000: lines 3, 5, 7, 9, 11 and 7 more" in result.stderr


def test_rows_dated_in_the_future_are_refused_with_their_lines_and_never_stored(db_url, tmp_path):
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    later = now + timedelta(hours=3)
    rows = HAND.read_text(encoding="utf-8").splitlines()[1:4] + [
        f"{now:%Y-%m-%d %H:%M:%S},USA,CAISO,US-CAL-CISO,100,150,60,45,x,false,",     # this hour: kept
        f"{later:%Y-%m-%d %H:%M:%S},USA,CAISO,US-CAL-CISO,100,150,60,45,x,false,",   # line 6
        "2099-01-01 00:00:00,USA,CAISO,US-CAL-CISO,100,150,60,45,x,false,"]          # line 7
    path = tmp_path / "future.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = crawler_cli("import-emap-csv", str(path))
    assert result.returncode == 0, result.stderr
    assert "4 inserted, 0 updated, 0 unchanged; 2 bad rows skipped" in result.stdout
    assert re.search(r"bad_row x2: dated in the future \(after [0-9: -]+Z\): lines 6, 7", result.stderr), result.stderr
    assert stored(db_url, "SELECT max(ts) FROM reported_intensity") == [(now,)]
    assert stored(db_url, "SELECT max(last_ts) FROM series") == [(now,)]
    client = create_app(db_url).test_client()
    assert client.get("/health").get_json()["database"]["newest_data"] == now.isoformat()
    (source,) = [s for s in client.get("/sources/").get_json()["sources"] if s["name"] == "ELECTRICITYMAPS"]
    assert source["newest_data"] == now.isoformat()
    (region,) = [r for r in client.get("/regions/").get_json()["regions"] if r["id"] == "CISO"]
    assert region["newest_data"] == now.isoformat()
