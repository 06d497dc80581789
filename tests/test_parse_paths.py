"""Where a parser has a fast reading beside its general one (parse(payload, general=True)),
both must give the same result, to the last bit, on every recording of that source: the
real ones in ../shared/fixtures and the hand-written ones in tests/fixtures."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crawler.__main__ import read_payload
from crawler.model import ParseError, ParseResult
from crawler.parsers import caiso, eia, nyiso, pjm
from tests.conftest import HAND_WRITTEN

# The sources with two readings, and the fixture folder of each.
TWO_PATHS = {"CAISO": caiso, "NYISO": nyiso, "EIA": eia, "PJM": pjm}


def recordings(shared_fixtures: Path, folder: str) -> list[Path]:
    files = []
    for root in (shared_fixtures / folder, HAND_WRITTEN / folder):
        if root.is_dir():
            files += sorted(p for p in root.rglob("*") if p.is_file() and p.suffix not in (".md", ".ambr"))
    return files


def outcome(parse, path: Path, general: bool) -> ParseResult | str:
    try:
        return parse(read_payload(path), general=general)
    except ParseError as exc:
        return f"ParseError: {exc}"


@pytest.mark.parametrize("source", list(TWO_PATHS))
def test_fast_and_general_readings_agree_on_every_recording(shared_fixtures: Path, source: str) -> None:
    module = TWO_PATHS[source]
    files = recordings(shared_fixtures, source)
    assert files, f"no recordings of {source}"
    parsed = 0
    for path in files:
        fast, general = outcome(module.parse, path, False), outcome(module.parse, path, True)
        if isinstance(general, str):
            assert fast == general, path.name
            continue
        assert isinstance(fast, ParseResult), (path.name, fast)
        pd.testing.assert_frame_equal(fast.readings, general.readings, check_exact=True, obj=path.name)
        pd.testing.assert_frame_equal(fast.net_imports, general.net_imports, check_exact=True, obj=path.name)
        assert fast.anomalies == general.anomalies, path.name
        assert fast.interval_minutes == general.interval_minutes
        parsed += not fast.readings.empty
    assert parsed, f"no recording of {source} gave readings: the comparison compared nothing"
