"""Fast paths for the parsers' hot spots, giving exactly what crawler.model's helpers give.
 `map_fuels` normalises every row's label with pandas string methods and
`fold_fuels` groups by three columns, two of them strings: on a small body those fixed
costs are most of a parse, on a month of NYISO rows (41,000) their per-row work is. Here
labels are mapped once per distinct label and folding groups on one numeric key, so
values, their order, dtypes, anomalies and log lines are those of the helpers, bit for bit
(the grouped sum is pandas' own, fed the same group numbers in the same row order).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from crawler.model import (
    NET_IMPORT_COLUMNS, READING_COLUMNS, Anomaly, empty_frame, fold_fuels, map_fuels,
)

_EMPTY_NET_IMPORTS = empty_frame(NET_IMPORT_COLUMNS)


def no_net_imports() -> pd.DataFrame:
    """A new `empty_frame(NET_IMPORT_COLUMNS)`, copied from a built one (a twentieth of the cost)."""
    return _EMPTY_NET_IMPORTS.copy()


def fuels_of(labels: Sequence, mapping: dict[str, str], source: str, anomalies: list[Anomaly]) -> list:
    """`list(map_fuels(pd.Series(labels), ...))` for a few labels (headers, distinct labels).

    The match is map_fuels' (case and surrounding spaces ignored); a list with a label it
    does not know goes through map_fuels itself, for its anomalies and log lines.
    """
    normalised = {k.strip().lower(): v for k, v in mapping.items()}
    fuels = [normalised.get(label.strip().lower()) if isinstance(label, str) else None for label in labels]
    if None not in fuels:
        return fuels
    return list(map_fuels(pd.Series(labels), mapping, source, anomalies))


def map_codes(codes: np.ndarray, labels: list, mapping: dict[str, str], source: str,
              anomalies: list[Anomaly]) -> tuple[np.ndarray, list]:
    """`map_fuels` of the rows whose labels are labels[codes], as (codes, fuels): row i's
    fuel is fuels[codes[i]]. Each distinct label is mapped once; anomalies (counting rows)
    and log lines are those map_fuels gives for all the rows."""
    codes = np.asarray(codes, dtype="intp")
    present, first = np.unique(codes, return_index=True)
    present = present[np.argsort(first)]  # in order of first appearance, as map_fuels reports them
    seen = [labels[code] for code in present]
    scratch: list[Anomaly] = []
    mapped = fuels_of(seen, mapping, source, scratch)
    if scratch:
        # map_fuels counted each distinct label once: count rows, grouped as it groups them
        # (by str(label), in order of first appearance), keeping its messages.
        normalised = {k.strip().lower(): v for k, v in mapping.items()}
        series = pd.Series(seen)
        unknown = series.astype(str).str.strip().str.lower().map(normalised).isna().to_numpy()
        rows = np.bincount(codes, minlength=len(labels))[present]
        counts: Counter[str] = Counter()
        for name, n in zip(series[unknown].astype(str), rows[unknown]):
            counts[name] += int(n)
        anomalies.extend(Anomaly(a.kind, a.message, n) for a, n in zip(scratch, counts.values()))
    fuels: list = [None] * len(labels)
    for code, fuel in zip(present, mapped):
        fuels[code] = fuel
    return codes, fuels


def fold(region: str, starts: pd.DatetimeIndex, codes: np.ndarray, fuels: Sequence,
         mw: np.ndarray) -> pd.DataFrame:
    """`fold_fuels(frame).reset_index(drop=True)` for a frame of one region whose row i is
    (region, starts[i], fuels[codes[i]], mw[i]): rows without a value or a time dropped,
    the values of one time and fuel summed, sorted by time and fuel."""
    starts = pd.DatetimeIndex(starts)
    codes = np.asarray(codes, dtype="intp")
    if np.asarray(mw).dtype.kind != "f":  # integers stay integers, as groupby sums them
        return _slow_fold(region, starts, codes, fuels, np.asarray(mw))
    mw = np.asarray(mw, dtype="float64")
    used = [fuels[code] for code in np.flatnonzero(np.bincount(codes, minlength=len(fuels)))]
    if not all(isinstance(fuel, str) for fuel in used):
        return _slow_fold(region, starts, codes, fuels, mw)
    names = sorted(set(used))  # the order groupby sorts strings in
    rank = {name: i for i, name in enumerate(names)}
    fuel_codes = np.array([rank.get(fuel, -1) for fuel in fuels], dtype="int64")[codes]
    keep = ~np.isnan(mw)
    stamps, fuel_codes, values = starts.asi8[keep], fuel_codes[keep], mw[keep]
    timed = ~starts.isna()[keep]
    if not timed.any():
        return _slow_fold(region, starts, codes, fuels, mw)
    times, time_codes = np.unique(stamps[timed], return_inverse=True)
    keys, groups = np.unique(time_codes * len(names) + fuel_codes[timed], return_inverse=True)
    # fold_fuels' group numbers row by row (NaN where its groupby drops the row): the same
    # numbers in the same order make pandas sum each group the same way, to the last bit.
    if timed.all():
        numbers = groups
    else:
        numbers = np.full(len(values), np.nan)
        numbers[timed] = groups
    sums = pd.Series(values).groupby(numbers, sort=True).sum().to_numpy()
    timestamps = pd.DatetimeIndex(times[keys // len(names)].view(f"M8[{starts.unit}]")).tz_localize(starts.tz)
    return pd.DataFrame({"region": region, "timestamp": timestamps,
                         "fuel": pd.array(names, dtype="str").take(keys % len(names)),
                         "mw": sums})


def _slow_fold(region: str, starts: pd.DatetimeIndex, codes: np.ndarray, fuels: Sequence,
               mw: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"region": region, "timestamp": starts,
                          "fuel": np.array(list(fuels), dtype=object)[codes], "mw": mw})
    return fold_fuels(frame[READING_COLUMNS]).reset_index(drop=True)
