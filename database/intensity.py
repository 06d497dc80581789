"""Carbon intensity of an interval from its readings: the one implementation of docs/design.md's
formula, vectorised so that a year of data for a region takes milliseconds.

    intensity = (sum(MW x factor) + discharge x charging intensity) / (sum(MW) + discharge),

over non-negative generation, with each reading's factor taken for its fuel, its region's
override first (or the global set alone for the `ipcc_*` columns), as valid at the
interval's start. Net imports are not generation and never enter.

Storage (battery, hydro_storage) discharge carries the intensity of the energy that charged
it. The charging hours are not tracked energy by energy; the approximation is the region's
intensity without storage over the 24 h before the interval, weighted by the MW charged in
each interval (negative storage readings), or, where the source shows no charging in that
window (net readings only), its time-weighted mean; with no history at all, the interval's
own mix. Round-trip losses are not added (as Electricity Maps, whose per-zone "discharge"
factors are annual means of the zone's intensity). Shares and total_mw stay of generation
without storage.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

INTENSITY_COLUMNS = ["region_id", "ts", "interval_minutes", "lifecycle_g_per_kwh", "direct_g_per_kwh",
                     "ipcc_lifecycle_g_per_kwh", "ipcc_direct_g_per_kwh",
                     "renewable_share", "low_carbon_share", "total_mw"]
# (output column, factor set, regional overrides used)
FACTOR_COLUMNS = (("lifecycle_g_per_kwh", "lifecycle", True), ("direct_g_per_kwh", "direct", True),
                  ("ipcc_lifecycle_g_per_kwh", "lifecycle", False), ("ipcc_direct_g_per_kwh", "direct", False))
CHARGING_WINDOW = "24h"


def compute_intensity(readings: pd.DataFrame, factors: pd.DataFrame, fuels: pd.DataFrame) -> pd.DataFrame:
    """Intensity per (region_id, ts).

    readings: region_id, ts, fuel_id, mw, interval_minutes (every stored fuel of each interval;
              for storage, the 24 h before the first interval too, or those intervals'
              discharge takes less history)
    factors:  factor_set, fuel_id, region_id (NaN = default), valid_from, g_per_kwh
    fuels:    id, renewable, low_carbon, storage
    """
    flags = fuels.set_index("id")
    storage = readings["fuel_id"].map(flags["storage"]).astype(bool)
    frame = readings.assign(
        counted=(readings["mw"] >= 0) & ~storage,
        renewable=readings["fuel_id"].map(flags["renewable"]).astype(bool),
        low_carbon=readings["fuel_id"].map(flags["low_carbon"]).astype(bool),
        discharge=readings["mw"].where(storage & (readings["mw"] > 0), 0.0),
        charge=(-readings["mw"]).where(storage & (readings["mw"] < 0), 0.0),
    )
    gen = frame["mw"].where(frame["counted"], 0.0)
    frame = frame.assign(gen=gen, renewable_mw=gen.where(frame["renewable"], 0.0),
                         low_carbon_mw=gen.where(frame["low_carbon"], 0.0))
    sums_of = {"interval_minutes": ("interval_minutes", "max"), "total_mw": ("gen", "sum"),
               "renewable_mw": ("renewable_mw", "sum"), "low_carbon_mw": ("low_carbon_mw", "sum"),
               "discharge": ("discharge", "sum"), "charge": ("charge", "sum")}
    for column, factor_set, regional in FACTOR_COLUMNS:
        chosen = factors[factors["factor_set"] == factor_set]
        factor = _factor_at(frame, chosen if regional else chosen[chosen["region_id"].isna()])
        frame[f"{column}__mw"] = gen * factor
        frame[f"{column}__missing"] = frame["counted"] & factor.isna()
        sums_of[f"{column}__sum"] = (f"{column}__mw", "sum")
        sums_of[f"{column}__missing"] = (f"{column}__missing", "any")
    sums = frame.groupby(["region_id", "ts"], sort=True).agg(**sums_of).reset_index()
    has_total = sums["total_mw"] > 0
    total = sums["total_mw"].where(has_total)
    result = sums.assign(renewable_share=sums["renewable_mw"] / total, low_carbon_share=sums["low_carbon_mw"] / total)
    for column, _, _ in FACTOR_COLUMNS:
        base = (sums[f"{column}__sum"] / total).where(has_total & ~sums[f"{column}__missing"])
        result[column] = _with_storage(sums, base)
    return result[INTENSITY_COLUMNS]


def _with_storage(sums: pd.DataFrame, base: pd.Series) -> pd.Series:
    """The intensity without storage (`base`), with each interval's discharge added at the
    intensity of the preceding 24 h's charging (see the module's docstring)."""
    if not (sums["discharge"] > 0).any():
        return base
    charged = _charging_intensity(sums, base)
    energy = sums["total_mw"] + sums["discharge"]
    mixed = (base * sums["total_mw"] + charged * sums["discharge"]) / energy
    return mixed.where(sums["discharge"] > 0, base).where(base.notna())


def _charging_intensity(sums: pd.DataFrame, base: pd.Series) -> pd.Series:
    """Per interval: the charge-weighted (else time-weighted) mean of `base` over the 24 h
    before it, in the same region; the interval's own `base` when it has no history."""
    known = base.notna()
    minutes = sums["interval_minutes"].astype("float64").where(known, 0.0)
    charge_energy = (sums["charge"] * minutes).where(known, 0.0)
    parts = pd.DataFrame({
        "region_id": sums["region_id"], "ts": sums["ts"],
        "charge_w": charge_energy, "charge_wi": charge_energy * base.fillna(0.0),
        "time_w": minutes, "time_wi": minutes * base.fillna(0.0),
    })
    rolled = (parts.set_index("ts").groupby("region_id", sort=False)[["charge_w", "charge_wi", "time_w", "time_wi"]]
              .rolling(CHARGING_WINDOW, closed="left").sum())
    rolled = rolled.reset_index().set_index(["region_id", "ts"]).reindex(
        pd.MultiIndex.from_frame(sums[["region_id", "ts"]])).reset_index(drop=True)
    by_charge = rolled["charge_wi"] / rolled["charge_w"].where(rolled["charge_w"] > 0)
    by_time = rolled["time_wi"] / rolled["time_w"].where(rolled["time_w"] > 0)
    return pd.Series(by_charge.fillna(by_time).to_numpy(), index=sums.index).fillna(base)


def _factor_at(frame: pd.DataFrame, factors: pd.DataFrame) -> pd.Series:
    """The factor valid at each reading's time: the region's own if it has one, else the default."""
    defaults = factors[factors["region_id"].isna()]
    overrides = factors[factors["region_id"].notna()]
    value = _asof(frame, defaults, by=["fuel_id"])
    if not overrides.empty:
        regional = _asof(frame, overrides.astype({"region_id": frame["region_id"].dtype}),
                         by=["fuel_id", "region_id"])
        value = regional.fillna(value)
    return value


def _asof(frame: pd.DataFrame, factors: pd.DataFrame, by: list[str]) -> pd.Series:
    """For each row of frame, g_per_kwh of the latest factor row (same `by`) with valid_from <= ts."""
    left = frame[["ts", *by]].assign(row=np.arange(len(frame))).sort_values("ts", kind="stable")
    right = (factors[["valid_from", *by, "g_per_kwh"]]
             .astype({c: frame[c].dtype for c in by})
             .sort_values("valid_from"))
    right["valid_from"] = right["valid_from"].astype(left["ts"].dtype)
    merged = pd.merge_asof(left, right, left_on="ts", right_on="valid_from", by=by, direction="backward")
    return pd.Series(merged.sort_values("row")["g_per_kwh"].to_numpy(), index=frame.index)


def renewable_split(readings: pd.DataFrame, factors: pd.DataFrame, fuels: pd.DataFrame,
                    factor_set: str = "lifecycle") -> pd.DataFrame:
    """Per ts: the intensity of the renewable generation alone and of the rest alone (NaN where
    that part generated nothing), by compute_intensity on each part. The whole interval's
    intensity is their mean weighted by the renewable share: what lets a caller ask "what if
    the share were x" (the original service's desired_renewable_ratio)."""
    column = {"lifecycle": "lifecycle_g_per_kwh", "direct": "direct_g_per_kwh"}[factor_set]
    renewable_ids = set(fuels.loc[fuels["renewable"].astype(bool), "id"])
    is_renewable = readings["fuel_id"].isin(renewable_ids)
    parts = {}
    for name, rows in (("renewable", readings[is_renewable]), ("nonrenewable", readings[~is_renewable])):
        parts[name] = (compute_intensity(rows, factors, fuels).set_index("ts")[column] if not rows.empty
                       else pd.Series(dtype="float64"))
    index = pd.DatetimeIndex(sorted(readings["ts"].unique())) if not readings.empty else pd.DatetimeIndex([])
    return pd.DataFrame({"renewable_g_per_kwh": parts["renewable"].reindex(index),
                         "nonrenewable_g_per_kwh": parts["nonrenewable"].reindex(index)}, index=index)
