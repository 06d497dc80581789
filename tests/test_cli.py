"""The crawler's command line as a user runs it: parse, replay, status, backfill."""
from __future__ import annotations

import csv
import io
import json

from tests.conftest import HAND_WRITTEN
from tests.crawlhelp import crawler_cli


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_parse_prints_one_json_reading_per_line(shared_fixtures):
    path = shared_fixtures / "NYISO" / "20250219rtfuelmix.csv"
    result = crawler_cli("parse", "NYISO", str(path))
    assert result.returncode == 0, result.stderr
    lines = json_lines(result.stdout)
    assert len(lines) == 288 * 6
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    first_stamp = [r for r in rows if r["Time Stamp"] == "02/19/2025 00:05:00"]
    gas = sum(float(r["Gen MW"]) for r in first_stamp if r["Fuel Category"] in ("Dual Fuel", "Natural Gas"))
    assert {"region": "NYIS", "timestamp": "2025-02-19T05:00:00+00:00", "fuel": "gas", "mw": gas} in lines
    assert set(lines[0]) == {"region", "timestamp", "fuel", "mw"}
    assert "off_schedule_timestamp" in result.stderr  # anomalies go to stderr, readings stay clean


def test_parse_shows_net_imports_apart(tmp_path):
    path = tmp_path / "handwritten_20250209_fuelsource.csv"
    path.write_text("Time,Solar,Wind,Geothermal,Biomass,Biogas,Small hydro,Coal,Nuclear,Natural Gas,"
                    "Large Hydro,Batteries,Imports,Other\n00:00,0,10,20,30,40,50,0,60,70,80,-5,900,1\n")
    result = crawler_cli("parse", "CAISO", str(path))
    assert result.returncode == 0, result.stderr
    lines = json_lines(result.stdout)
    assert {"region": "CISO", "timestamp": "2025-02-09T08:00:00+00:00", "net_import_mw": 900.0} in lines
    assert {"region": "CISO", "timestamp": "2025-02-09T08:00:00+00:00", "fuel": "battery", "mw": -5.0} in lines
    assert not [line for line in lines if line.get("fuel") == "unknown"]


def test_parse_of_a_bad_file_says_why_and_fails(tmp_path):
    path = tmp_path / "20250209_fuelsource.csv"
    path.write_text("<html><head><title>Error 503</title></head></html>")
    result = crawler_cli("parse", "CAISO", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "HTML" in result.stderr and "Traceback" not in result.stderr


def test_parse_refuses_a_body_its_parser_did_not_foresee_and_keeps_the_others(tmp_path, shared_fixtures):
    good = shared_fixtures / "NYISO" / "20250219rtfuelmix.csv"
    corrupt = tmp_path / "20250220rtfuelmix.csv"  # one stamp in the year 4025: beyond pandas' datetimes
    corrupt.write_bytes(good.read_bytes().replace(b"02/19/2025 00:05:00", b"02/19/4025 00:05:00", 1))
    result = crawler_cli("parse", "NYISO", str(corrupt), str(good))
    assert result.returncode == 1  # a file could not be read
    assert len(json_lines(result.stdout)) == 288 * 6  # the readable one, whole
    assert "20250220rtfuelmix.csv: NYISO: unreadable body (OutOfBoundsDatetime" in result.stderr
    assert "Traceback" not in result.stderr


def test_parse_of_an_unknown_source_lists_the_known_ones(tmp_path):
    result = crawler_cli("parse", "NOPE", str(tmp_path))
    assert result.returncode != 0
    assert "unknown source 'NOPE'" in result.stderr and "CAISO" in result.stderr


def test_replay_of_a_folder_infers_the_source_and_reports_each_file(db, shared_fixtures):
    result = crawler_cli("replay", str(shared_fixtures / "NYISO"))
    lines = result.stdout.splitlines()
    # The folder also holds a load forecast, which is not a fuel mix: it fails, clearly.
    assert any(line.startswith("NYISO 20250219isolf.csv: failed: missing column") for line in lines), lines
    assert result.returncode == 1
    ok = [line for line in lines if ": ok: " in line]
    assert len(ok) == 4  # 2016 day, 20-day zip, 19th and 20th
    with db.cursor() as cur:
        cur.execute("SELECT count(DISTINCT ts) FROM generation_reading")
        intervals = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM carbon_intensity WHERE lifecycle_g_per_kwh IS NOT NULL")
        assert cur.fetchone()[0] == intervals
    # The zip's 19th and 20th re-read by the daily files are unchanged rows, not new ones.
    daily_19 = next(line for line in lines if line.startswith("NYISO 20250219rtfuelmix.csv"))
    assert "0 inserted, 0 updated, 1728 unchanged" in daily_19


def test_replay_is_idempotent(db, shared_fixtures):
    path = str(shared_fixtures / "EIA" / "PACW_fuel-type-data_2023-01-01_2023-01-08.json")
    first = crawler_cli("replay", "--source", "EIA", path)
    second = crawler_cli("replay", "--source", "EIA", path)
    assert "845 inserted, 0 updated, 0 unchanged" in first.stdout
    assert "0 inserted, 0 updated, 845 unchanged" in second.stdout
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM generation_reading")
        assert cur.fetchone()[0] == 845


def test_status_after_replay(db, shared_fixtures):
    crawler_cli("replay", "--source", "EIA", str(shared_fixtures / "EIA" / "PACW_fuel-type-data_2023-01-01_2023-01-08.json"))
    crawler_cli("replay", str(shared_fixtures / "NYISO" / "20250219rtfuelmix.csv"))
    result = crawler_cli("status")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert set(lines) >= {"CAISO", "NYISO", "EIA"}
    assert "2025-02-20 04:55Z" in lines["NYISO"] and " 1728 " in lines["NYISO"]
    assert "disabled: EIA_API_KEY not set" in lines["EIA"] and " 845 " in lines["EIA"]
    assert lines["EIA"].split()[3] == "never"  # a replay is not a crawl
    assert "2023-01-07 23:00Z" in lines["EIA"]  # period 2023-01-08T00 is the hour starting 23:00
    assert "never" in lines["CAISO"]


def test_backfill_fetches_chunks_and_lists_the_failed_ones(db, fake_iso, monkeypatch, shared_fixtures):
    monkeypatch.setenv("NYISO_BASE_URL", fake_iso.url)
    fake_iso.serve("/20250201rtfuelmix_csv.zip", (shared_fixtures / "NYISO" / "20250201rtfuelmix_csv.days01-20.zip").read_bytes())
    ok = crawler_cli("backfill", "--source", "NYISO", "--start", "2025-02-01", "--end", "2025-02-21")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    again = crawler_cli("backfill", "--source", "NYISO", "--start", "2025-02-01", "--end", "2025-02-21")
    assert "0 inserted, 0 updated" in again.stdout
    failing = crawler_cli("backfill", "--source", "NYISO", "--start", "2025-01-31", "--end", "2025-02-02")
    assert failing.returncode == 1
    assert "1 chunk(s) failed: 2025-01-31..2025-02-01" in failing.stdout


def test_hand_written_fixtures_say_so():
    for path in HAND_WRITTEN.rglob("*"):
        if path.is_file() and path.name != "README.md":
            readme = (path.parent / "README.md").read_text()
            assert path.name.startswith("handwritten") or path.name in readme, path
