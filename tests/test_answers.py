"""Timestamps in answers read exactly as datetime.isoformat() writes them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from api.models.times import iso, iso_column

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def test_iso_column_matches_isoformat_with_and_without_microseconds():
    microseconds = np.array([0, 1, 1_500_000, -1, -946_771_200_000_000, 1_709_251_200_000_000,
                             1_709_251_200_123_456, 4_102_444_800_000_000], dtype=np.int64)
    expected = [iso(EPOCH + timedelta(microseconds=int(value))) for value in microseconds]
    assert iso_column(microseconds) == expected
    assert expected[5] == "2024-03-01T00:00:00+00:00" and expected[6] == "2024-03-01T00:00:00.123456+00:00"


def test_iso_column_of_nothing_is_empty():
    assert iso_column(np.array([], dtype=np.int64)) == []
