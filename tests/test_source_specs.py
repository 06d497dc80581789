"""The registry is a list of SourceSpecs, and every source module keeps the contract that
crawler/parsers/__init__.py states: its SPEC, the four functions, constants read from SPEC."""
from __future__ import annotations

import inspect
from datetime import date

import pytest

from crawler.crawl import REGISTRY, SOURCES
from crawler.source import SourceSpec

CONTRACT = {"parse": ["payload"], "fetch_latest": ["client", "now", "last_success"],
            "backfill_chunks": ["start", "end"], "fetch_range": ["client", "start", "end"]}


def test_registry_is_the_list_of_specs_by_name() -> None:
    assert all(isinstance(spec, SourceSpec) for spec in SOURCES)
    assert list(REGISTRY) == [spec.name for spec in SOURCES]
    assert len(set(REGISTRY)) == len(SOURCES)


@pytest.mark.parametrize("spec", SOURCES, ids=[s.name for s in SOURCES])
def test_module_keeps_the_contract(spec: SourceSpec) -> None:
    module = spec.module
    assert module.SPEC is spec
    for name, parameters in CONTRACT.items():
        assert list(inspect.signature(getattr(module, name)).parameters)[:len(parameters)] == parameters
    assert (module.SOURCE, module.INTERVAL_MINUTES) == (spec.name, spec.interval_minutes)
    assert (module.FREQUENCY_MINUTES, module.STALE_AFTER_MINUTES) == (spec.frequency_minutes,
                                                                      spec.stale_after_minutes)
    assert getattr(module, "REGION", spec.regions[0]) == spec.regions[0]


@pytest.mark.parametrize("spec", SOURCES, ids=[s.name for s in SOURCES])
def test_facts_are_consistent(spec: SourceSpec) -> None:
    assert spec.regions and all(region.isupper() for region in spec.regions)
    assert 0 < spec.frequency_minutes and 0 < spec.interval_minutes < spec.stale_after_minutes
    assert spec.description and spec.time_convention and spec.backfill
    # "none: why" in the spec exactly when the module has no backfill chunks.
    chunks = spec.module.backfill_chunks(date(2024, 1, 1), date(2024, 3, 1))
    assert spec.backfill.startswith("none") == (chunks == []), spec.backfill


def test_disabled_reason_names_a_missing_variable(monkeypatch) -> None:
    eia = REGISTRY["EIA"]
    monkeypatch.delenv("EIA_API_KEY", raising=False)
    assert eia.disabled_reason() == "EIA_API_KEY not set"
    monkeypatch.setenv("EIA_API_KEY", "x")
    assert eia.disabled_reason() is None
    assert REGISTRY["HI"].disabled_reason() == REGISTRY["HI"].disabled
