"""Every interval honest (issue 21): a partial mix is never served as a whole one, estimates
are flagged, a rejected value never deletes a stored one. The reproductions of the issue,
end to end: doctored copies of real recordings (written here, in tmp_path) replayed through
the crawler's own path into PostgreSQL, read back through the API; the expected numbers are
computed here from the recorded files."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from api import create_app
from crawler.__main__ import read_payload
from crawler.crawl import REGISTRY, Crawler, utc_now

LIFECYCLE = {"gas": 490, "nuclear": 12, "oil": 650, "biomass": 230, "wind": 11, "hydro": 24, "solar": 45,
             "geothermal": 38, "coal": 820, "other": 700}
NYISO_FUEL = {"Dual Fuel": "gas", "Natural Gas": "gas", "Nuclear": "nuclear", "Other Fossil Fuels": "oil",
              "Other Renewables": "biomass", "Wind": "wind", "Hydro": "hydro"}
NYISO_DAY = Path("NYISO") / "20250219rtfuelmix.csv"
EIA_WEEK = Path("EIA") / "PACW_fuel-type-data_2023-01-01_2023-01-08.json"
EIA_FUEL = {"NG": "gas", "WND": "wind", "WAT": "hydro", "SUN": "solar", "OTH": "other", "NUC": "nuclear",
            "OIL": "oil", "COL": "coal"}


# -- helpers ----------------------------------------------------------------------------

def replay(*items: tuple[str, Path]) -> list[str]:
    """Ingest (source, file) pairs as `python -m crawler replay` does; the lines it prints."""
    lines: list[str] = []
    crawler = Crawler(out=lines.append)
    try:
        code = crawler.replay([(REGISTRY[source], read_payload(path)) for source, path in items], utc_now())
    finally:
        crawler.close()
    assert code == 0, lines
    return lines


def nyiso_rows(shared: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO((shared / NYISO_DAY).read_text())))


def doctored_nyiso(shared: Path, tmp_path: Path, change: dict[tuple[str, str], str | None],
                   drop_all_but: dict[str, str] | None = None) -> Path:
    """A copy of the recorded day with the cells of `change` ((stamp, label) -> new value text,
    None: row removed) changed, and at each stamp of `drop_all_but` every row but that label's
    removed. Written under a folder named NYISO, as a recording is kept."""
    out = io.StringIO()
    rows = nyiso_rows(shared)
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        key = (row["Time Stamp"], row["Fuel Category"])
        keep = (drop_all_but or {}).get(row["Time Stamp"])
        if keep is not None and row["Fuel Category"] != keep:
            continue
        if key in change:
            if change[key] is None:
                continue
            row = {**row, "Gen MW": change[key]}
        writer.writerow(row)
    path = tmp_path / "NYISO" / NYISO_DAY.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out.getvalue())
    return path


def nyiso_mix(shared: Path, stamp: str) -> dict[str, float]:
    """MW by fuel at one stamp (interval end, EST), straight from the recorded CSV."""
    mix: dict[str, float] = {}
    for row in nyiso_rows(shared):
        if row["Time Stamp"] == stamp:
            fuel = NYISO_FUEL[row["Fuel Category"]]
            mix[fuel] = mix.get(fuel, 0.0) + float(row["Gen MW"])
    return mix


def intensity_of(mix: dict[str, float]) -> float:
    generation = {fuel: mw for fuel, mw in mix.items() if mw >= 0}
    return sum(mw * LIFECYCLE[fuel] for fuel, mw in generation.items()) / sum(generation.values())


def points(client, start: str, end: str, **params) -> dict[str, dict]:
    """/carbon-intensity/ points of NYISO's NYIS (global factors) by timestamp, and the body."""
    response = client.get("/carbon-intensity/", query_string={
        "region": "NYIS", "source": "NYISO", "emission_factors": "ipcc", "start": start, "end": end} | params)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return {p["timestamp"][11:16]: p for p in body["carbon_intensities"]}, body


def mixtures(client, start: str, end: str, region: str = "NYIS", source: str = "NYISO", **params) -> dict:
    response = client.get("/energy-mixture/", query_string={"region": region, "source": source, "start": start,
                                                             "end": end, **params})
    assert response.status_code == 200, response.get_json()
    return {m["timestamp"]: m for m in response.get_json()["mixtures"]}


def query(db, sql: str, *params) -> list[tuple]:
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def interpolated(shared: Path, before: str, after: str, fuels: tuple[str, ...]) -> dict[str, float]:
    """The mean of two stamps' values of each fuel: the estimate halfway between them."""
    low, high = nyiso_mix(shared, before), nyiso_mix(shared, after)
    return {fuel: (low[fuel] + high[fuel]) / 2 for fuel in fuels}


@pytest.fixture
def client(db_url):
    return create_app(db_url).test_client()


# -- one absurd value ---------------------------------------------------------------------

# 12:00 EST ends the interval starting 16:55Z (the 1e308 of the issue, on a recorded day: the
# recordings hold 2025-02-01..20, not the 23rd).
ABSURD_STAMP, BEFORE, AFTER = "02/19/2025 12:00:00", "02/19/2025 11:55:00", "02/19/2025 12:05:00"


def test_an_absurd_gas_value_is_estimated_from_its_neighbours_never_served_as_half_a_grid(
        db, client, shared_fixtures, tmp_path):
    day = doctored_nyiso(shared_fixtures, tmp_path, {(ABSURD_STAMP, "Natural Gas"): "1e308"})
    lines = replay(("NYISO", day))
    assert "implausible_value 1" in lines[0] and "1 intervals estimated, 0 left as gaps" in lines[0], lines

    served, _ = points(client, "2025-02-19T16:45:00Z", "2025-02-19T17:10:00Z")
    gas = interpolated(shared_fixtures, BEFORE, AFTER, ("gas",))["gas"]
    mix = {**nyiso_mix(shared_fixtures, ABSURD_STAMP), "gas": gas}
    estimated = served["16:55"]
    assert (estimated["estimated"], estimated["estimation_method"]) == (True, "interpolated")
    assert estimated["carbon_intensity"] == pytest.approx(intensity_of(mix))
    for neighbour in ("16:50", "17:00"):
        assert served[neighbour]["estimated"] is False and served[neighbour]["estimation_method"] is None
        assert estimated["carbon_intensity"] == pytest.approx(served[neighbour]["carbon_intensity"], rel=0.05)
    # The mix says which fuel is estimated, and how; the source's own rows hold no gas there.
    mix_1655 = mixtures(client, "2025-02-19T16:55:00Z", "2025-02-19T17:00:00Z")["2025-02-19T16:55:00+00:00"]
    assert mix_1655["fuels"]["gas"] == pytest.approx(gas) and 7500 < gas < 8500
    assert (mix_1655["estimated"], mix_1655["estimated_fuels"]) == (True, {"gas": "interpolated"})
    assert query(db, "SELECT count(*) FROM generation_reading g JOIN fuel f ON f.id = g.fuel_id "
                     "WHERE f.name = 'gas' AND g.ts = '2025-02-19T16:55Z'") == [(0,)]


def test_hourly_and_average_over_an_estimated_interval_equal_the_hand_computation(
        db, client, shared_fixtures, tmp_path):
    replay(("NYISO", doctored_nyiso(shared_fixtures, tmp_path, {(ABSURD_STAMP, "Natural Gas"): "1e308"})))
    hand = []
    for minute in range(5, 61, 5):  # the 12 intervals of 16:00-17:00Z end at 11:05..12:00 EST
        stamp = f"02/19/2025 {11 + minute // 60:02d}:{minute % 60:02d}:00"
        mix = nyiso_mix(shared_fixtures, stamp)
        if stamp == ABSURD_STAMP:
            mix["gas"] = interpolated(shared_fixtures, BEFORE, AFTER, ("gas",))["gas"]
        hand.append(intensity_of(mix))
    served, native = points(client, "2025-02-19T16:00:00Z", "2025-02-19T17:00:00Z")
    assert native["average"]["carbon_intensity"] == pytest.approx(sum(hand) / 12)
    assert native["coverage"]["estimated_intervals"] == 1 and native["coverage"]["missing_intervals"] == 0
    _, hourly = points(client, "2025-02-19T16:00:00Z", "2025-02-19T17:00:00Z", resolution="hour")
    [bucket] = hourly["carbon_intensities"]
    assert bucket["carbon_intensity"] == pytest.approx(sum(hand) / 12)
    assert (bucket["estimated"], bucket["estimation_method"]) == (True, "interpolated")

    # estimated=false: measured points only; the estimated one is left out and counted missing.
    measured, body = points(client, "2025-02-19T16:00:00Z", "2025-02-19T17:00:00Z", estimated="false")
    assert "16:55" not in measured and len(measured) == 11
    assert body["coverage"]["missing_intervals"] == 1 and body["coverage"]["estimated_intervals"] == 0
    assert body["average"]["carbon_intensity"] == pytest.approx(sum(hand[:-1]) / 11)
    _, hourly = points(client, "2025-02-19T16:00:00Z", "2025-02-19T17:00:00Z", resolution="hour", estimated="false")
    assert hourly["carbon_intensities"][0]["carbon_intensity"] == pytest.approx(sum(hand[:-1]) / 11)
    assert not mixtures(client, "2025-02-19T16:55:00Z", "2025-02-19T17:00:00Z", estimated="false")


# -- a bad revision ---------------------------------------------------------------------------

def test_a_revision_with_rejected_values_keeps_every_stored_value(db, client, shared_fixtures, tmp_path):
    replay(("NYISO", shared_fixtures / NYISO_DAY))
    readings = query(db, "SELECT ts, fuel_id, mw FROM generation_reading ORDER BY 1, 2")
    intensity = query(db, "SELECT ts, lifecycle_g_per_kwh, total_mw, estimated FROM carbon_intensity ORDER BY 1")
    bad = doctored_nyiso(shared_fixtures, tmp_path, {
        ("02/19/2025 00:10:00", "Natural Gas"): "1e308", ("02/19/2025 00:15:00", "Natural Gas"): "inf",
        ("02/19/2025 00:20:00", "Natural Gas"): "nan", ("02/19/2025 00:25:00", "Nuclear"): "999999"})
    [line] = replay(("NYISO", bad))
    assert "removed" not in line and "estimated" not in line, line
    for kind in ("implausible_value 2", "non_finite_value 1", "missing_value 1"):
        assert kind in line, line
    assert query(db, "SELECT ts, fuel_id, mw FROM generation_reading ORDER BY 1, 2") == readings
    assert query(db, "SELECT ts, lifecycle_g_per_kwh, total_mw, estimated FROM carbon_intensity ORDER BY 1") \
        == intensity
    assert query(db, "SELECT count(*) FROM estimated_reading") == [(0,)]
    # The valid Dual Fuel folded into the same gas reading as the absurd Natural Gas is kept.
    first = nyiso_mix(shared_fixtures, "02/19/2025 00:10:00")
    assert first["gas"] == 4091 + 4204
    served, _ = points(client, "2025-02-19T05:05:00Z", "2025-02-19T05:10:00Z")
    assert served["05:05"]["carbon_intensity"] == pytest.approx(intensity_of(first))
    assert served["05:05"]["estimated"] is False


# -- intervals that lost fuels ---------------------------------------------------------------

def test_an_interval_that_lost_fuels_is_estimated_and_best_window_does_not_pick_it(
        db, client, shared_fixtures, tmp_path):
    # Hydro removed at 00:20 EST (05:15Z), every fuel but Wind at 00:45 (05:40Z).
    day = doctored_nyiso(shared_fixtures, tmp_path, {("02/19/2025 00:20:00", "Hydro"): None},
                         drop_all_but={"02/19/2025 00:45:00": "Wind"})
    [line] = replay(("NYISO", day))
    # Oil (1 MW, under 1 % of any interval) is taken as not generating where absent.
    assert "2 intervals estimated, 0 left as gaps" in line and "missing_fuel 5" in line, line
    served, _ = points(client, "2025-02-19T05:00:00Z", "2025-02-19T06:00:00Z")
    assert {t for t, p in served.items() if p["estimated"]} == {"05:15", "05:40"}
    wind_only = {**interpolated(shared_fixtures, "02/19/2025 00:40:00", "02/19/2025 00:50:00",
                                ("gas", "nuclear", "biomass", "hydro")),
                 "wind": nyiso_mix(shared_fixtures, "02/19/2025 00:45:00")["wind"]}
    assert served["05:40"]["carbon_intensity"] == pytest.approx(intensity_of(wind_only))
    assert served["05:40"]["carbon_intensity"] == pytest.approx(served["05:35"]["carbon_intensity"], rel=0.05)
    assert served["05:40"]["renewable_ratio"] < 0.5
    assert mixtures(client, "2025-02-19T05:40:00Z", "2025-02-19T05:45:00Z")["2025-02-19T05:40:00+00:00"][
        "estimated_fuels"] == {f: "interpolated" for f in ("gas", "nuclear", "biomass", "hydro")}

    response = client.get("/carbon-aware-scheduler/best-window/", query_string={
        "region": "NYIS", "source": "NYISO", "duration": 5, "start": "2025-02-19T05:00:00Z",
        "end": "2025-02-20T05:00:00Z"})
    assert response.status_code == 200, response.get_json()
    best = response.get_json()["best"]
    assert best["start"][11:16] not in ("05:15", "05:40")
    # The scheduler's intensity: the region's own factors, as /carbon-intensity/ answers by default.
    day_points, _ = points(client, "2025-02-19T05:00:00Z", "2025-02-20T05:00:00Z", emission_factors="regional")
    lowest = min(day_points.values(), key=lambda p: p["carbon_intensity"])
    assert best["carbon_intensity"] == pytest.approx(lowest["carbon_intensity"]) and lowest["estimated"] is False
    assert best["carbon_intensity"] > 200  # a wind-only mix would be 11


def test_status_and_sources_give_the_estimated_share_of_the_newest_day(db, client, shared_fixtures, tmp_path):
    day = doctored_nyiso(shared_fixtures, tmp_path, {("02/19/2025 00:20:00", "Hydro"): None},
                         drop_all_but={"02/19/2025 00:45:00": "Wind"})
    replay(("NYISO", day))
    # The newest day: the 24 h before the newest interval (2025-02-20 04:55Z), 288 intervals.
    nyiso = next(s for s in client.get("/sources/").get_json()["sources"] if s["name"] == "NYISO")
    assert nyiso["estimated_share"] == pytest.approx(2 / 288)
    from tests.crawlhelp import crawler_cli
    status = crawler_cli("status")
    line = next(line for line in status.stdout.splitlines() if line.startswith("NYISO "))
    assert " 0.7% " in line, status.stdout


def test_a_later_body_supplying_the_missing_fuel_replaces_the_estimate(db, client, shared_fixtures, tmp_path):
    replay(("NYISO", doctored_nyiso(shared_fixtures, tmp_path, {("02/19/2025 00:20:00", "Hydro"): None})))
    assert query(db, "SELECT f.name, m.name FROM estimated_reading e JOIN fuel f ON f.id = e.fuel_id "
                     "JOIN estimation_method m ON m.id = e.method_id") == [("hydro", "interpolated")]
    replay(("NYISO", shared_fixtures / NYISO_DAY))
    assert query(db, "SELECT count(*) FROM estimated_reading") == [(0,)]
    served, _ = points(client, "2025-02-19T05:15:00Z", "2025-02-19T05:20:00Z")
    assert served["05:15"]["estimated"] is False
    assert served["05:15"]["carbon_intensity"] == pytest.approx(intensity_of(nyiso_mix(shared_fixtures,
                                                                                       "02/19/2025 00:20:00")))


HOURS_WITHOUT_HYDRO = [f"02/19/2025 {m // 60:02d}:{m % 60:02d}:00" for m in range(20, 20 + 5 * 30, 5)]


def test_a_gap_longer_than_the_bound_stays_a_gap(db, client, shared_fixtures, tmp_path):
    # Hydro missing from 30 intervals in a row (2.5 h): no interval of it has a hydro value within
    # the 1 h bound on both sides, and no day before is stored.
    replay(("NYISO", doctored_nyiso(shared_fixtures, tmp_path, {(s, "Hydro"): None for s in HOURS_WITHOUT_HYDRO})))
    served, body = points(client, "2025-02-19T05:00:00Z", "2025-02-19T08:00:00Z")
    assert sorted(served) == ["05:00", "05:05", "05:10"] + [f"{h:02d}:{m:02d}" for h in (7,) for m in range(45, 60, 5)]
    assert body["coverage"]["missing_intervals"] == 30 and body["coverage"]["estimated_intervals"] == 0
    assert query(db, "SELECT count(*) FROM estimated_reading") == [(0,)]
    # The fuels the source did report there are stored as it said.
    assert query(db, "SELECT count(DISTINCT ts) FROM generation_reading WHERE ts >= '2025-02-19T05:15Z' "
                     "AND ts < '2025-02-19T07:45Z'") == [(30,)]


def test_beyond_the_bound_the_same_time_the_day_before_is_the_estimate(db, client, shared_fixtures, tmp_path):
    replay(("NYISO", shared_fixtures / "NYISO" / "20250201rtfuelmix_csv.days01-20.zip"))
    replay(("NYISO", doctored_nyiso(shared_fixtures, tmp_path, {(s, "Hydro"): None for s in HOURS_WITHOUT_HYDRO})))
    served, body = points(client, "2025-02-19T05:15:00Z", "2025-02-19T07:45:00Z")
    assert len(served) == 30 and body["coverage"]["estimated_intervals"] == 30
    # No interval of the 2.5 h has a hydro value within an hour on both sides: the day before.
    assert {p["estimation_method"] for p in served.values()} == {"previous_day"}
    day_before = query(db, "SELECT g.mw FROM generation_reading g JOIN fuel f ON f.id = g.fuel_id "
                           "WHERE f.name = 'hydro' AND g.ts = '2025-02-18T06:00Z'")[0][0]
    estimate = query(db, "SELECT e.mw FROM estimated_reading e WHERE e.ts = '2025-02-19T06:00Z'")[0][0]
    assert estimate == day_before


# -- a fuel missing from one interval of other real recordings --------------------------------

def eia_rows(shared: Path) -> list[dict]:
    return json.loads((shared / EIA_WEEK).read_text())["response"]["data"]


def doctored_eia(shared: Path, tmp_path: Path, change: dict[tuple[str, str], object],
                 periods: tuple[str, str] = ("", "~"), name: str = EIA_WEEK.name) -> Path:
    """The recorded PACW week with rows of `change` ((period, fueltype) -> value; `...` removes
    the row) changed, and only the periods within `periods` (first, last) kept."""
    doc = json.loads((shared / EIA_WEEK).read_text())
    data = []
    for row in doc["response"]["data"]:
        key = (row["period"], row["fueltype"])
        if not periods[0] <= row["period"] <= periods[1]:
            continue
        if key in change:
            if change[key] is ...:
                continue
            row = {**row, "value": change[key]}
        data.append(row)
    doc["response"]["data"] = data
    path = tmp_path / "EIA" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def eia_mix(shared: Path, period: str) -> dict[str, float]:
    return {EIA_FUEL[r["fueltype"]]: float(r["value"]) for r in eia_rows(shared) if r["period"] == period}


def eia_intensity(client, start: str) -> dict:
    response = client.get("/carbon-intensity/", query_string={
        "region": "PACW", "source": "EIA", "emission_factors": "ipcc", "start": start,
        "end": (pd.Timestamp(start) + pd.Timedelta(hours=1)).isoformat()})
    return response.get_json()["carbon_intensities"][0]


# Hour ending 2023-01-03T12 (starting 11:00Z) and its neighbours.
PERIOD, EARLIER, LATER = "2023-01-03T12", "2023-01-03T11", "2023-01-03T13"


def eia_interpolated(shared: Path, fuels: tuple[str, ...]) -> dict[str, float]:
    low, high = eia_mix(shared, EARLIER), eia_mix(shared, LATER)
    return {**eia_mix(shared, PERIOD), **{f: (low[f] + high[f]) / 2 for f in fuels}}


def test_eia_hour_without_one_fuel_is_interpolated(db, client, shared_fixtures, tmp_path):
    replay(("EIA", doctored_eia(shared_fixtures, tmp_path, {(PERIOD, "WAT"): ...})))
    point = eia_intensity(client, "2023-01-03T11:00:00Z")
    assert (point["estimated"], point["estimation_method"]) == (True, "interpolated")
    assert point["carbon_intensity"] == pytest.approx(intensity_of(eia_interpolated(shared_fixtures, ("hydro",))))


def test_an_estimate_appears_when_the_neighbours_arrive_with_a_later_body(db, client, shared_fixtures, tmp_path):
    # The first body ends with the hour that lacks hydro, and holds no day before it: a gap.
    first = doctored_eia(shared_fixtures, tmp_path, {(PERIOD, "WAT"): ...}, periods=("2023-01-03T06", PERIOD),
                         name="first.json")
    [line] = replay(("EIA", first))
    assert "0 intervals estimated, 1 left as gaps" in line, line
    assert eia_intensity(client, "2023-01-03T10:00:00Z")["estimated"] is False
    assert client.get("/carbon-intensity/", query_string={
        "region": "PACW", "source": "EIA", "start": "2023-01-03T11:00:00Z", "end": "2023-01-03T12:00:00Z"}
    ).get_json()["carbon_intensities"] == []
    # The next body brings the later hours (still without that hour's hydro): interpolated now.
    replay(("EIA", doctored_eia(shared_fixtures, tmp_path, {(PERIOD, "WAT"): ...})))
    point = eia_intensity(client, "2023-01-03T11:00:00Z")
    assert (point["estimated"], point["estimation_method"]) == (True, "interpolated")
    assert point["carbon_intensity"] == pytest.approx(intensity_of(eia_interpolated(shared_fixtures, ("hydro",))))


@pytest.mark.parametrize("fueltype, value, kind", [
    ("NG", -5000, "large_negative_generation"),  # negative generation of a fuel that cannot consume
    ("WAT", 2892, "single_interval_spike"),  # one hour at six times its neighbours (482, 474 MW)
    ("WAT", 0, "sudden_drop"),  # hydro at zero between two hours of 480 MW
])
def test_eia_known_faults_are_estimated_and_stored_as_reported(db, client, shared_fixtures, tmp_path, fueltype,
                                                               value, kind):
    [line] = replay(("EIA", doctored_eia(shared_fixtures, tmp_path, {(PERIOD, fueltype): str(value)})))
    assert f"{kind} 1" in line and "1 intervals estimated" in line, line
    fuel = EIA_FUEL[fueltype]
    assert query(db, "SELECT g.mw FROM generation_reading g JOIN fuel f ON f.id = g.fuel_id "
                     "WHERE f.name = %s AND g.ts = '2023-01-03T11:00Z'", fuel) == [(float(value),)]
    point = eia_intensity(client, "2023-01-03T11:00:00Z")
    assert point["estimated"] is True
    assert point["carbon_intensity"] == pytest.approx(intensity_of(eia_interpolated(shared_fixtures, (fuel,))))


def test_eia_all_blank_hour_is_interpolated_whole(db, client, shared_fixtures, tmp_path):
    blank = {(PERIOD, fuel): None for fuel in ("NG", "WND", "WAT", "SUN", "OTH")}
    [line] = replay(("EIA", doctored_eia(shared_fixtures, tmp_path, blank)))
    assert "missing_value 5" in line and "1 intervals estimated" in line, line
    point = eia_intensity(client, "2023-01-03T11:00:00Z")
    assert point["estimated"] is True
    everything = eia_interpolated(shared_fixtures, ("gas", "wind", "hydro", "solar", "other"))
    assert point["carbon_intensity"] == pytest.approx(intensity_of(everything))


def test_caiso_renewables_watch_unreadable_cell_is_interpolated(db, client, shared_fixtures, tmp_path):
    """The hourly CAISO recording (Daily Renewables Watch) with one cell unreadable."""
    text = (shared_fixtures / "CAISO" / "20171106_DailyRenewablesWatch.txt").read_text()
    lines = text.splitlines(keepends=True)
    # The renewables table's row of hour 10: hour, then geothermal, biomass, biogas, small hydro,
    # wind, solar PV, solar thermal in the non-empty cells.
    hour = next(i for i, line in enumerate(lines) if line.split("\t")[1:2] == ["10"])

    def wind_cell(line: str) -> int:
        return [i for i, c in enumerate(line.split("\t")) if c.strip()][5]
    before = [float(lines[hour + d].split("\t")[wind_cell(lines[hour + d])]) for d in (-1, 1)]
    cells = lines[hour].split("\t")
    cells[wind_cell(lines[hour])] = "#VALUE!"  # as the recorded 2017-03-12 file shows in its DST hour
    lines[hour] = "\t".join(cells)
    path = tmp_path / "CAISO" / "20171106_DailyRenewablesWatch.txt"
    path.parent.mkdir()
    path.write_text("".join(lines))
    [line] = replay(("CAISO_DRW", path))
    assert "1 intervals estimated" in line, line
    stamp = "2017-11-06T17:00:00+00:00"  # hour 10 Pacific standard time starts 09:00 PST = 17:00Z
    mix = mixtures(client, stamp, "2017-11-06T18:00:00Z", region="CISO", source="CAISO_DRW")[stamp]
    assert mix["estimated_fuels"] == {"wind": "interpolated"}
    assert mix["fuels"]["wind"] == pytest.approx(sum(before) / 2)


# -- EIA-930's known faults in the hourly traces -----------------------------------------------

TRACE_FUEL = {"WND": "wind", "SUN": "solar", "WAT": "hydro", "OIL": "oil", "NG": "gas", "COL": "coal",
              "NUC": "nuclear", "OTH": "other"}


def trace(shared: Path, region: str) -> pd.DataFrame:
    """A region's 2022 EIA-930 trace (hour starts, UTC): one column per EIA fuel type."""
    path = shared.parent / "traces" / "eia930_hpe_dcrl" / f"{region}_2022_fuelmix_avgCI.csv"
    if not path.exists():
        pytest.skip(f"trace {path} not found")
    return pd.read_csv(path, parse_dates=["timestamp"]).set_index("timestamp")[list(TRACE_FUEL)]


def evaluated(table: pd.DataFrame):
    """database/completeness.py's evaluation of a trace as one series (blank cells rejected)."""
    from database.completeness import FuelKinds, evaluate
    from energy_data.fuels import FUELS

    ids = {fuel: i for i, fuel in enumerate(FUELS, start=1)}
    long = table.rename(columns=TRACE_FUEL).stack(future_stack=True).rename("mw").reset_index()
    long.columns = ["ts", "fuel", "mw"]
    cells = pd.DataFrame({"region_id": 1, "ts": long["ts"], "fuel_id": long["fuel"].map(ids), "mw": long["mw"],
                          "interval_minutes": 60})
    blank = cells["mw"].isna()
    kinds = FuelKinds(storage=frozenset({ids["battery"], ids["hydro_storage"]}),
                      negative_exempt=frozenset({ids["hydro"], ids["other"], ids["unknown"]}))
    evaluation = evaluate(cells[~blank], cells[blank][["region_id", "ts", "fuel_id"]],
                          pd.DataFrame(columns=["region_id", "ts", "fuel_id", "kind"]), 60, kinds)
    names = {i: fuel for fuel, i in ids.items()}
    anomalies = evaluation.anomalies.assign(fuel=evaluation.anomalies["fuel_id"].map(names))
    return evaluation.states.set_index("ts"), anomalies


def test_trace_faults_are_caught_and_treated(shared_fixtures):
    # A single-hour gas spike (AZPS: 294, 2,293, 209 MW) is estimated.
    states, anomalies = evaluated(trace(shared_fixtures, "AZPS"))
    spike = pd.Timestamp("2022-03-17T17:00Z")
    assert set(anomalies[anomalies["ts"] == spike]["kind"]) == {"single_interval_spike"}
    assert states.loc[spike, "estimated"] and states["missing"].sum() == 0
    # PJM's total collapsing for one hour (every fuel at a few % of its neighbours) is estimated,
    # its 22 blank hours in a row (longer than the 3 h bound) stay gaps, its lone blank hour not.
    states, anomalies = evaluated(trace(shared_fixtures, "PJM"))
    collapse = pd.Timestamp("2022-10-02T04:00Z")
    assert {"sudden_drop"} == set(anomalies[anomalies["ts"] == collapse]["kind"])
    assert states.loc[collapse, "estimated"]
    blank = trace(shared_fixtures, "PJM").isna().all(axis=1)
    assert states.loc[blank[blank].index, "missing"].sum() == 22
    assert states.loc[pd.Timestamp("2022-11-07T05:00Z"), "estimated"]
    # NYISO's oil reported at zero for single hours between 600 MW ones (105 hours of 2022).
    _, anomalies = evaluated(trace(shared_fixtures, "NYIS"))
    drops = anomalies[(anomalies["kind"] == "sudden_drop") & (anomalies["fuel"] == "oil")]
    assert len(drops) == 105
    # Regions without such faults get no estimate at all.
    for region in ("ERCO", "SOCO"):
        states, _ = evaluated(trace(shared_fixtures, region))
        assert not states["estimated"].any() and not states["missing"].any()


def eia_page(table: pd.DataFrame, region: str) -> bytes:
    """A trace as one EIA v2 fuel-type-data body (period: the hour ending, UTC)."""
    data = [{"period": f"{ts + pd.Timedelta(hours=1):%Y-%m-%dT%H}", "respondent": region, "fueltype": fuel,
             "value": None if pd.isna(mw) else str(int(mw)), "value-units": "megawatthours"}
            for ts, row in table.iterrows() for fuel, mw in row.items()]
    return json.dumps({"response": {"total": str(len(data)), "frequency": "hourly", "data": data}}).encode()


def test_nuclear_filed_as_other_for_weeks_is_never_served_as_other(db, client, shared_fixtures, tmp_path):
    """EIA-930 filed NYISO's nuclear output under OTH from 2022-09-26 06:00 to 10-17 19:00."""
    table = trace(shared_fixtures, "NYIS").loc["2022-09-24":"2022-10-19"]
    path = tmp_path / "EIA" / "NYIS_2022-09-24_2022-10-19.json"
    path.parent.mkdir()
    path.write_bytes(eia_page(table, "NYIS"))
    [line] = replay(("EIA", path))
    assert "nuclear_filed_as_other" in line, line
    filed = table[(table["NUC"] < 500) & (table["OTH"] >= 1000)].index
    assert filed.min() == pd.Timestamp("2022-09-26T06:00Z") and filed.max() == pd.Timestamp("2022-10-17T19:00Z")

    served = {pd.Timestamp(m["timestamp"]): m for m in mixtures(
        client, "2022-09-24T00:00:00Z", "2022-10-20T00:00:00Z", region="NYIS", source="EIA").values()}
    fault = [served[ts] for ts in filed if ts in served]
    # The first day of the fault: the same hour of the day before; after it, no usable value of
    # either fuel within reach: gaps (never the mix with nuclear's output charged as other).
    assert all(m["estimated_fuels"].get("nuclear") == "previous_day" for m in fault)
    assert all(m["fuels"]["other"] < 1000 and m["fuels"]["nuclear"] > 2000 for m in fault)
    assert {pd.Timestamp(m["timestamp"]) for m in fault} == set(filed[filed < filed.min() + pd.Timedelta(days=1)])
    after = served[pd.Timestamp("2022-10-18T12:00Z")]
    assert after["estimated"] is False and after["fuels"]["nuclear"] > 2000


def test_an_electricity_maps_estimate_is_flagged_with_its_own_method(db, client):
    """Imported intensities carry their provider's flag and method to every point."""
    from tests.conftest import HAND_WRITTEN
    from tests.crawlhelp import crawler_cli

    result = crawler_cli("import-emap-csv", str(HAND_WRITTEN / "electricitymaps" / "handwritten_US-CAL-CISO_hourly.csv"))
    assert result.returncode == 0, result.stderr
    response = client.get("/carbon-intensity/", query_string={
        "region": "CISO", "source": "electricitymaps", "start": "2024-03-10T08:00:00Z", "end": "2024-03-10T12:00:00Z"})
    served = {p["timestamp"][11:16]: p for p in response.get_json()["carbon_intensities"]}
    assert (served["10:00"]["estimated"], served["10:00"]["estimation_method"]) == (
        True, "ESTIMATED_TIME_SLICER_AVERAGE")
    assert all(p["estimated"] is False for t, p in served.items() if t != "10:00")
