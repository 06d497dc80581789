"""Open Electricity v4: the recorded network bodies of ../shared/fixtures/OPENELECTRICITY/ parsed
exactly (checked against the JSON read here on its own), NEM time (UTC+10 whatever the state's
clocks say), storage and flows kept out of generation; the fetch against a loopback server."""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from crawler.http import HttpClient
from crawler.model import ParseError, ParseResult, Payload
from crawler.parsers import openelectricity as oe

# The fueltech table of Open Electricity's documentation, written out here on its own.
GENERATION = {"coal_black": "coal", "coal_brown": "coal", "gas_ccgt": "gas", "gas_ocgt": "gas", "gas_recip": "gas",
              "gas_steam": "gas", "gas_wcmg": "gas", "distillate": "oil", "hydro": "hydro", "wind": "wind",
              "solar_utility": "solar", "solar_rooftop": "solar", "bioenergy_biogas": "biomass",
              "bioenergy_biomass": "biomass"}
STORAGE_SIGNS = {"battery_discharging": ("battery", 1), "battery_charging": ("battery", -1),
                 "pumps": ("hydro_storage", -1)}
FILES = {"AU-NSW": "AU-NSW.v4.json", "AU-QLD": "AU-QLD.v4.json", "AU-SA": "AU-SA.v4.json",
         "AU-VIC": "AU-VIC.v4.json", "AU-WA": "AU-WA.v4.json"}


def parse_path(path: Path) -> ParseResult:
    return oe.parse(Payload(body=path.read_bytes(), name=str(path)))


def parse_doc(doc: dict) -> ParseResult:
    return oe.parse(Payload(body=json.dumps(doc).encode(), name="inline.json"))


def json_series(path: Path) -> dict[str, dict[datetime, float | None]]:
    """fueltech (lower case) -> {stamp as UTC: value} straight from the JSON."""
    doc = json.loads(path.read_text())
    (dataset,) = doc["data"]
    return {r["columns"]["fueltech"].lower(): {datetime.fromisoformat(t).astimezone(timezone.utc): v
                                               for t, v in r["data"]} for r in dataset["results"]}


def expected_mix(path: Path) -> tuple[dict[tuple[datetime, str], float], dict[datetime, float]]:
    """The test's own reading: interval start = stamp - 5 minutes; intervals where every
    generation fueltech has a value; storage signed; imports - exports."""
    series = json_series(path)
    split = {"battery_charging", "battery_discharging"} & set(series)
    generation = {k: v for k, v in series.items() if k in GENERATION}
    complete = set.intersection(*({t for t, v in values.items() if v is not None} for values in generation.values()))
    mix: dict[tuple[datetime, str], float] = defaultdict(float)
    for label, values in series.items():
        if label in GENERATION:
            fuel, sign = GENERATION[label], 1
        elif label in STORAGE_SIGNS:
            fuel, sign = STORAGE_SIGNS[label]
        elif label == "battery" and not split:
            fuel, sign = "battery", 1
        else:
            continue
        for stamp, value in values.items():
            if stamp in complete and value is not None:
                mix[(stamp - timedelta(minutes=5), fuel)] += sign * value
    net: dict[datetime, float] = defaultdict(float)
    for label, sign in (("imports", 1), ("exports", -1)):
        for stamp, value in series.get(label, {}).items():
            if value is not None:
                net[stamp - timedelta(minutes=5)] += sign * value
    return dict(mix), dict(net)


@pytest.mark.parametrize("region", list(FILES))
def test_every_interval_and_fuel_is_the_json_s_values(shared_fixtures, region):
    path = shared_fixtures / "OPENELECTRICITY" / FILES[region]
    result = parse_path(path)
    mix, net = expected_mix(path)
    got = {(r.timestamp.to_pydatetime(), r.fuel): r.mw for r in result.readings.itertuples()}
    assert set(result.readings["region"]) == {region}
    assert got.keys() == mix.keys()
    assert all(got[k] == pytest.approx(v) for k, v in mix.items())
    per_fuel = result.readings.groupby("fuel")["mw"].sum()
    assert per_fuel.to_dict() == pytest.approx(pd.Series(mix).groupby(level=1).sum().to_dict())
    assert {r.timestamp.to_pydatetime(): r.mw for r in result.net_imports.itertuples()} == pytest.approx(net)
    assert result.interval_minutes == 5


def test_nem_time_is_utc_plus_ten_even_when_victoria_keeps_summer_time(shared_fixtures):
    # 16 March 2025: Melbourne's clocks say UTC+11, the file says +10:00 (market time).
    result = parse_path(shared_fixtures / "OPENELECTRICITY" / "AU-VIC.v4.json")
    first = result.readings["timestamp"].min()
    assert first == pd.Timestamp("2025-03-16T10:25Z")  # stamp 20:30+10:00 ends the interval 20:25-20:30
    assert first != pd.Timestamp("2025-03-16T20:25", tz="Australia/Melbourne")  # would be 09:25Z


def test_a_stamp_without_an_offset_is_nem_time_not_sydney_s_clock():
    # January: Sydney is on UTC+11, the market on UTC+10.
    doc = {"success": True, "data": [{"network_code": "NEM", "metric": "power", "unit": "MW", "interval": "5m",
                                      "results": [{"columns": {"region": "NSW1", "fueltech": "wind"},
                                                   "data": [["2025-01-15T12:05:00", 100.0]]}]}]}
    result = parse_doc(doc)
    assert result.readings["timestamp"].tolist() == [pd.Timestamp("2025-01-15T02:00Z")]
    doc["data"][0]["network_code"] = "WEM"
    doc["data"][0]["results"][0]["columns"]["region"] = "WEM"
    assert parse_doc(doc).readings["timestamp"].tolist() == [pd.Timestamp("2025-01-15T04:00Z")]


def test_imports_exports_and_charging_are_not_generation(shared_fixtures):
    result = parse_path(shared_fixtures / "OPENELECTRICITY" / "AU-NSW.v4.json")
    series = json_series(shared_fixtures / "OPENELECTRICITY" / "AU-NSW.v4.json")
    stamp = datetime(2025, 7, 11, 11, 10, tzinfo=timezone.utc)  # the last stamp, 21:10+10:00
    start = pd.Timestamp(stamp - timedelta(minutes=5))
    row = result.readings[result.readings["timestamp"] == start].set_index("fuel")["mw"]
    assert row["battery"] == pytest.approx(series["battery_discharging"][stamp] - series["battery_charging"][stamp])
    assert row["hydro_storage"] == -series["pumps"][stamp]
    assert "imports" not in set(result.readings["fuel"]) and len(result.net_imports) == 288
    net = result.net_imports.set_index("timestamp")["mw"]
    assert net[start] == pytest.approx(series["imports"][stamp] - series["exports"][stamp])


def test_western_australia_s_rooftop_estimate_alone_is_no_mix(shared_fixtures):
    result = parse_path(shared_fixtures / "OPENELECTRICITY" / "AU-WA.v4.json")
    # The metered units end at 07:55+08:00 on the 10th; rooftop solar runs on until 22:50.
    assert result.readings["timestamp"].max() == pd.Timestamp("2026-02-09T23:50Z")
    counts = {a.kind: a.count for a in result.anomalies}
    assert counts["incomplete_interval"] == 287
    # `battery` is the split series' units again: left out, so battery = discharging - charging.
    series = json_series(shared_fixtures / "OPENELECTRICITY" / "AU-WA.v4.json")
    stamp = datetime(2026, 2, 7, 15, 55, tzinfo=timezone.utc)
    got = result.readings[(result.readings["timestamp"] == pd.Timestamp(stamp - timedelta(minutes=5)))
                          & (result.readings["fuel"] == "battery")]["mw"].item()
    assert got == pytest.approx(series["battery_discharging"][stamp] - series["battery_charging"][stamp])
    assert counts["redundant_series"] == 973


def test_a_thirty_minute_body_fills_its_five_minute_intervals():
    doc = {"success": True, "data": [{"network_code": "WEM", "metric": "power", "unit": "MW", "interval": "30m",
                                      "results": [{"columns": {"region": "WEM", "fueltech": "coal_black"},
                                                   "data": [["2022-06-01T08:30:00+08:00", 900.0]]}]}]}
    result = parse_doc(doc)
    assert result.readings["timestamp"].tolist() == list(pd.date_range("2022-06-01T00:00Z", periods=6, freq="5min"))
    assert set(result.readings["mw"]) == {900.0}


@pytest.mark.parametrize("doc, message", [
    ({"success": False, "error": "Invalid API key", "data": []}, "Invalid API key"),
    ({"data": [{"network_code": "NEM", "metric": "power", "unit": "GW", "interval": "5m", "results": []}]}, "GW"),
    ({"data": [{"network_code": "NZ", "metric": "power", "unit": "MW", "interval": "5m", "results": []}]}, "NZ"),
    ({"data": [{"network_code": "NEM", "metric": "power", "unit": "MW", "interval": "7m", "results": []}]}, "7m"),
    ({"detail": "not found"}, "unexpected JSON shape"),
])
def test_bad_bodies_are_refused_with_a_reason(doc, message):
    with pytest.raises(ParseError, match=message):
        parse_doc(doc)


def test_the_fetch_asks_each_network_in_its_own_time_with_a_bearer_token(fake_iso, monkeypatch, shared_fixtures):
    monkeypatch.setenv("OPENELECTRICITY_TOKEN", "oe-secret-token-456")
    monkeypatch.setenv("OPENELECTRICITY_BASE_URL", fake_iso.url)
    body = (shared_fixtures / "OPENELECTRICITY" / "AU-NSW.v4.json").read_bytes()
    fake_iso.serve("/v4/data/network/NEM", body)
    fake_iso.serve("/v4/data/network/WEM", (shared_fixtures / "OPENELECTRICITY" / "AU-WA.v4.json").read_bytes())
    archived = []
    now = datetime(2025, 1, 15, 2, 7, tzinfo=timezone.utc)
    payloads = oe.fetch_latest(HttpClient(archive=archived.append), now, now - timedelta(minutes=15))
    assert len(payloads) == 2
    nem, wem = fake_iso.requests
    assert nem.headers["Authorization"] == "Bearer oe-secret-token-456"
    # NEM: intervals from 3 hours before the last success (01:50Z) to 02:05Z, so ends 22:55Z .. 02:05Z:
    # 08:55 .. 12:05 NEM time (UTC+10; Sydney's clocks say 13:05). WEM: a day back, in UTC+8.
    assert (nem.query["date_start"], nem.query["date_end"]) == (["2025-01-15T08:55"], ["2025-01-15T12:05"])
    assert (wem.query["date_start"], wem.query["date_end"]) == (["2025-01-14T09:55"], ["2025-01-15T10:05"])
    assert nem.query["secondary_grouping"] == ["fueltech"] and nem.query["interval"] == ["5m"]
    assert all("oe-secret-token-456" not in p.name for p in archived)


def test_backfill_is_in_weeks():
    assert oe.backfill_chunks(date(2025, 1, 1), date(2025, 1, 20)) == [
        (date(2025, 1, 1), date(2025, 1, 8)), (date(2025, 1, 8), date(2025, 1, 15)), (date(2025, 1, 15), date(2025, 1, 20))]
