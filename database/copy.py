"""COPY a DataFrame in PostgreSQL's binary format, built with numpy: several times faster
than formatting CSV text, and exact for floats and timestamps."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import psycopg2.extensions

_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_TRAILER = (-1).to_bytes(2, "big", signed=True)
_POSTGRES_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00Z in microseconds since 1970
_WIRE_TYPES = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float8": ">f8", "timestamptz": ">i8", "bool": "?"}


def copy_frame(cur: psycopg2.extensions.cursor, table: str, frame: pd.DataFrame, types: dict[str, str]) -> None:
    """COPY `frame[types.keys()]` into `table`; `types` maps column -> int2/int4/int8/float8/timestamptz/bool.

    Missing values (NaN, NaT) are written as NULL.
    """
    cur.copy_expert(f"COPY {table} ({', '.join(types)}) FROM STDIN WITH (FORMAT binary)",
                    io.BytesIO(binary_copy_body(frame, types)))


def binary_copy_body(frame: pd.DataFrame, types: dict[str, str]) -> bytes:
    """The COPY body: rows of one NULL pattern share a fixed layout, so each pattern is one
    numpy record array (row order does not matter to COPY)."""
    nulls = pd.DataFrame({c: frame[c].isna() for c in types}, index=frame.index)
    nullable = [c for c in types if nulls[c].any()]
    if not nullable:
        return _HEADER + _records(frame, types, ()) + _TRAILER
    parts = [_HEADER]
    for pattern, group in frame.groupby([nulls[c] for c in nullable], sort=False):
        pattern = pattern if isinstance(pattern, tuple) else (pattern,)
        parts.append(_records(group, types, tuple(c for c, is_null in zip(nullable, pattern) if is_null)))
    parts.append(_TRAILER)
    return b"".join(parts)


def _records(frame: pd.DataFrame, types: dict[str, str], null_columns: tuple[str, ...]) -> bytes:
    layout = [("fields", ">i2")]
    for column, pg_type in types.items():
        layout.append((f"{column}__len", ">i4"))
        if column not in null_columns:
            layout.append((column, _WIRE_TYPES[pg_type]))
    rows = np.empty(len(frame), dtype=np.dtype(layout))
    rows["fields"] = len(types)
    for column, pg_type in types.items():
        if column in null_columns:
            rows[f"{column}__len"] = -1
        else:
            rows[f"{column}__len"] = np.dtype(_WIRE_TYPES[pg_type]).itemsize
            rows[column] = _wire_values(frame[column], pg_type)
    return rows.tobytes()


def _wire_values(values: pd.Series, pg_type: str) -> np.ndarray:
    if pg_type == "timestamptz":
        utc = pd.to_datetime(values, utc=True).dt.tz_convert(None)
        return utc.to_numpy(dtype="datetime64[us]").astype("int64") - _POSTGRES_EPOCH_US
    return values.to_numpy()
