"""Agreement benchmark: this project's intensity of EIA-930 traces against Electricity Maps.

    python scripts/bench/agreement.py TRACES... [--recordings DIR]

TRACES are files or folders: EIA-930 traces (`<BA>_<year>_fuelmix_avgCI.csv`: "timestamp" =
EIA's `period` as served, fuel columns WND SUN WAT OIL NG COL NUC OTH in MW) and Electricity
Maps exports (`<zone>_<year>_hourly.csv`: "Datetime (UTC)" = hour start, "Carbon Intensity
gCO₂eq/kWh (LCA)" and "(direct)", "Data Source").

The intensity is computed by database.intensity.compute_intensity, the function the crawler
writes with, with the emission factors of a freshly migrated scratch database (the factor
tables of database/migrations, no second copy of the numbers), EIA's fuel codes mapped by the
EIA parser's own FUEL_MAP and its hour labels read as the parser reads them (hour end, hour
start for HOUR_START_RESPONDENTS). For each region and year with both series it prints, for
the regional factors and the global IPCC set: Pearson correlation, mean ratio (ours /
Electricity Maps), mean absolute difference (g/kWh), and the same over the hours the EIA
parser flags as nuclear filed under OTH left out.

Then the hour-label evidence: per trace with solar, the SUN-weighted mean hour of the raw
labels against the solar noon of the region's solar fleet (hour-end labels sit +0.5 h after
it, hour-start labels -0.5 h before); per pair, the correlation of hour-to-hour changes of the
raw-labelled intensity against Electricity Maps' at lags -1, 0, +1 (the lag with the highest
correlation says how the labels relate to the hour start Electricity Maps uses; their
"Data Source" says whether that is the ISO's own data). --recordings adds the EIA API
recordings of that folder (their raw `period` labels) to the solar check.

Runs a scratch PostgreSQL (DATABASE_URL's server if set, else an embedded one).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from crawler.parsers.eia import FUEL_MAP, HOUR_START_RESPONDENTS, nuclear_filed_as_other  # noqa: E402
from database.connection import connect  # noqa: E402
from database.dimensions import fuel_ids, region_ids, resolve_region  # noqa: E402
from database.intensity import compute_intensity  # noqa: E402
from database.readings import emission_factors, fuel_flags  # noqa: E402
from database.scratch import scratch_database  # noqa: E402

EIA_NAME = re.compile(r"^([A-Z]+)_(\d{4})_fuelmix_avgCI\.csv$")
EM_NAME = re.compile(r"^([A-Z][A-Z-]+)_(\d{4})_hourly\.csv$")
EM_COLUMNS = {"lifecycle": "Carbon Intensity gCO₂eq/kWh (LCA)", "direct": "Carbon Intensity gCO₂eq/kWh (direct)"}
HOUR = pd.Timedelta(hours=1)
# Approximate longitude of the centre of each region's solar fleet (degrees east), for the
# solar-noon check: the main solar areas of each balancing authority (Mojave/Central Valley,
# West Texas, Virginia-New Jersey-North Carolina, Indiana-Minnesota-Illinois, central Arizona,
# Georgia, eastern Oregon/Washington, Oregon). +-2 degrees is +-8 minutes.
SOLAR_LONGITUDE = {"CISO": -118.5, "ERCO": -100.5, "PJM": -77.5, "MISO": -89.0, "AZPS": -112.5, "SOCO": -84.5,
                   "BPAT": -120.0, "PACW": -122.0, "NYIS": -75.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("traces", nargs="+", type=Path)
    parser.add_argument("--recordings", type=Path, help="folder of EIA API recordings (*.json) for the solar check")
    args = parser.parse_args(argv)
    eia, em = _files(args.traces)
    with scratch_database() as url:
        conn = connect(url)
        try:
            with conn.cursor() as cur:
                tables = (emission_factors(cur), fuel_flags(cur), region_ids(cur), fuel_ids(cur))
                zones = {key: resolve_region(cur, key[0]) for key in em}
        finally:
            conn.close()
    print("agreement with Electricity Maps (lifecycle; direct in brackets); flagged = EIA hours of nuclear filed as OTH")
    print(f"{'region':6} {'year':4} {'factors':8} {'hours':>5} {'corr':>13} {'ratio':>13} {'MAD g/kWh':>13}"
          f" {'flagged':>7} {'corr w/o':>8} {'ratio w/o':>9}")
    lags: list[str] = []
    shares: list[str] = []
    for (region, year), path in sorted(eia.items()):
        pair = [p for (zone, y), p in em.items() if y == year and zones[(zone, y)] == region]
        if not pair:
            continue
        readings = _eia_readings(path, region)
        ours = _intensity(readings, *tables)
        theirs = _em_series(pair[0])
        flagged = nuclear_filed_as_other(readings)
        flagged_hours = set(flagged[flagged].index.get_level_values("timestamp")) if len(flagged) else set()
        for label, prefix in (("regional", ""), ("ipcc", "ipcc_")):
            print(_agreement_row(region, year, label, ours, theirs, prefix, flagged_hours))
        shares.append(_share_row(region, year, ours, theirs, flagged_hours))
        lags.append(_lag_row(region, year, path, pair[0]))
    print("\nlow-carbon share of generation (ours, production) against Electricity Maps' (consumption, flow-traced),"
          " flagged hours left out")
    for row in shares:
        print(row)
    print("\nhour labels: SUN-weighted mean hour of the raw labels minus the solar noon at the fleet's longitude")
    print("(hour-end labels: about +0.5 h; hour-start labels: about -0.5 h)")
    for (region, year), path in sorted(eia.items()):
        frame = pd.read_csv(path)
        print(_solar_row(f"{region} {year} trace", region, pd.to_datetime(frame["timestamp"], utc=True), frame["SUN"]))
    for path in sorted(args.recordings.glob("*.json")) if args.recordings else []:
        for row in _recording_solar_rows(path):
            print(row)
    print("\nhour-to-hour changes of the raw-labelled intensity against Electricity Maps' (lag: label minus hour start)")
    for row in lags:
        print(row)
    return 0


def _files(paths: list[Path]) -> tuple[dict, dict]:
    eia, em = {}, {}
    for path in [p for given in paths for p in (sorted(given.iterdir()) if given.is_dir() else [given])]:
        if found := EIA_NAME.match(path.name):
            eia[(found.group(1), int(found.group(2)))] = path
        elif found := EM_NAME.match(path.name):
            em[(found.group(1), int(found.group(2)))] = path
    return eia, em


def _eia_readings(path: Path, region: str) -> pd.DataFrame:
    """The trace as the EIA parser would store it: vocabulary fuels, UTC interval starts."""
    frame = pd.read_csv(path)
    labels = pd.to_datetime(frame["timestamp"], utc=True)
    starts = labels if region in HOUR_START_RESPONDENTS else labels - HOUR
    codes = [c for c in frame.columns if c in FUEL_MAP]
    long = frame[codes].assign(timestamp=starts).melt(id_vars="timestamp", var_name="code", value_name="mw")
    long = long.dropna(subset=["mw"]).assign(region=region, fuel=lambda f: f["code"].map(FUEL_MAP))
    return long.groupby(["region", "timestamp", "fuel"], as_index=False)["mw"].sum()


def _intensity(readings: pd.DataFrame, factors: pd.DataFrame, fuels: pd.DataFrame, regions: dict, fuel_id: dict) -> pd.DataFrame:
    rows = pd.DataFrame({"region_id": readings["region"].map(regions).astype("int16"), "ts": readings["timestamp"],
                         "fuel_id": readings["fuel"].map(fuel_id).astype("int16"), "mw": readings["mw"].astype(float),
                         "interval_minutes": np.int16(60)})
    return compute_intensity(rows, factors, fuels).set_index("ts")


def _em_series(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame["Datetime (UTC)"], utc=True), name="ts")
    return frame


def _agreement_row(region: str, year: int, label: str, ours: pd.DataFrame, theirs: pd.DataFrame, prefix: str,
                   flagged: set) -> str:
    cells = {}
    for factor_set in ("lifecycle", "direct"):
        joined = pd.concat([ours[f"{prefix}{factor_set}_g_per_kwh"], theirs[EM_COLUMNS[factor_set]]], axis=1,
                           keys=["ours", "theirs"], sort=True).dropna()
        kept = joined[~joined.index.isin(flagged)]
        cells[factor_set] = (_stats(joined), _stats(kept), len(joined), len(joined) - len(kept))
    (life, life_kept, hours, dropped), (direct, _, _, _) = cells["lifecycle"], cells["direct"]
    return (f"{region:6} {year:4} {label:8} {hours:5d} {life[0]:6.3f} [{direct[0]:5.3f}] {life[1]:6.3f} [{direct[1]:5.3f}]"
            f" {life[2]:6.1f} [{direct[2]:5.1f}] {dropped:7d} {life_kept[0]:8.3f} {life_kept[1]:9.3f}")


def _share_row(region: str, year: int, ours: pd.DataFrame, theirs: pd.DataFrame, flagged: set) -> str:
    """Where imports make the difference, consumption is cleaner (or dirtier) than production."""
    joined = pd.concat([ours["low_carbon_share"] * 100, theirs["Low Carbon Percentage"]], axis=1,
                       keys=["ours", "theirs"], sort=True).dropna()
    joined = joined[~joined.index.isin(flagged)]
    return (f"{region:6} {year}: ours {joined['ours'].mean():5.1f} %, Electricity Maps {joined['theirs'].mean():5.1f} %,"
            f" correlation {joined['ours'].corr(joined['theirs']):.3f}")


def _stats(joined: pd.DataFrame) -> tuple[float, float, float]:
    ours, theirs = joined["ours"], joined["theirs"]
    return float(ours.corr(theirs)), float(ours.mean() / theirs.mean()), float((ours - theirs).abs().mean())


def _lag_row(region: str, year: int, eia_path: Path, em_path: Path) -> str:
    """Correlation of hour-to-hour changes, the trace indexed by its raw labels shifted by lag."""
    frame = pd.read_csv(eia_path)
    raw = pd.Series(frame["avg_CI"].to_numpy(), index=pd.to_datetime(frame["timestamp"], utc=True))
    theirs = _em_series(em_path)
    changes = theirs[EM_COLUMNS["lifecycle"]].diff()
    found = []
    for lag in (-1, 0, 1):
        joined = pd.concat([raw.shift(-lag, freq="h").diff(), changes], axis=1, sort=True).dropna()
        found.append((lag, float(joined.iloc[:, 0].corr(joined.iloc[:, 1]))))
    best = max(found, key=lambda item: item[1])[0]
    meaning = {1: "label = hour end", 0: "label = hour start", -1: "label = hour start - 1 h"}[best]
    source = theirs["Data Source"].iloc[0] if "Data Source" in theirs else "?"
    return (f"{region:6} {year}: " + "  ".join(f"lag {lag:+d}: {corr:.3f}" for lag, corr in found)
            + f"   -> {meaning} (Electricity Maps' data from {source})")


def _solar_row(what: str, region: str, labels: pd.Series, sun: pd.Series) -> str:
    """Median over days of the SUN-weighted circular mean hour of the labels, minus solar noon."""
    if region not in SOLAR_LONGITUDE or sun.clip(lower=0).fillna(0).sum() == 0:
        return f"{what:28}: no solar reported"
    frame = pd.DataFrame({"sun": sun.clip(lower=0).fillna(0).to_numpy(), "hour": labels.dt.hour + labels.dt.minute / 60,
                          "day": labels.dt.date})
    angle = 2 * np.pi * frame["hour"] / 24
    frame = frame.assign(x=np.cos(angle) * frame["sun"], y=np.sin(angle) * frame["sun"])
    days = frame.groupby("day")[["sun", "x", "y"]].sum()
    days = days[days["sun"] > 0.3 * days["sun"].median()]
    centre = (np.degrees(np.arctan2(days["y"], days["x"])) / 15) % 24
    noon = 12 - SOLAR_LONGITUDE[region] / 15
    offset = float(centre.median() - noon)
    # Beyond +-0.9 h the timing is not a label convention alone (e.g. storage-backed solar).
    verdict = ("hour end" if 0.15 < offset < 0.9 else "hour start" if -0.9 < offset < -0.15
               else "unclear")
    return f"{what:28}: {offset:+.2f} h over {len(days)} days -> {verdict}"


def _recording_solar_rows(path: Path) -> list[str]:
    """The solar check on an EIA API recording (raw `period` labels), per respondent with SUN."""
    doc = json.loads(path.read_text())
    rows = doc.get("response", {}).get("data", []) if isinstance(doc, dict) else []
    frame = pd.DataFrame([r for r in rows if isinstance(r, dict) and r.get("fueltype") == "SUN"])
    if frame.empty:
        return [f"{path.name[:28]:28}: no solar in the recording"]
    out = []
    for respondent, group in frame.groupby("respondent"):
        labels = pd.to_datetime(group["period"], format="%Y-%m-%dT%H", utc=True)
        sun = pd.to_numeric(group["value"], errors="coerce")
        out.append(_solar_row(f"{respondent} {path.name[:20]}", respondent, labels.reset_index(drop=True),
                              sun.reset_index(drop=True)))
    return out


if __name__ == "__main__":
    sys.exit(main())
