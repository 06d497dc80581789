"""Shared test fixtures: the recorded and hand-written files, a loopback stand-in for the ISOs
(`fake_iso`), and a throw-away PostgreSQL per session (`db_url`, `db`, `filled`)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fakeiso import FakeISO

REPO = Path(__file__).resolve().parent.parent
HAND_WRITTEN = REPO / "tests" / "fixtures"


def shared_dir() -> Path:
    return Path(os.environ.get("ENERGY_DATA_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    """../shared/fixtures (recorded real responses); tests skip when it is absent."""
    path = shared_dir() / "fixtures"
    if not path.is_dir():
        pytest.skip(f"recorded fixtures not found at {path} (set ENERGY_DATA_SHARED)")
    return path


@pytest.fixture
def fake_iso():
    with FakeISO() as server:
        yield server


@pytest.fixture(scope="session")
def database_url_session():
    from database.scratch import scratch_database

    with scratch_database() as url:
        yield url


@pytest.fixture
def db_url(database_url_session, monkeypatch):
    """URL of an emptied test database, also exported as DATABASE_URL for code and subprocesses."""
    from database.scratch import clean

    clean(database_url_session)
    monkeypatch.setenv("DATABASE_URL", database_url_session)
    return database_url_session


@pytest.fixture
def db(db_url):
    """An autocommit connection to the emptied test database."""
    import psycopg2

    conn = psycopg2.connect(db_url, options="-c timezone=UTC")
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def filled(database_url_session, shared_fixtures):
    """The test database filled once per module from the recorded fixtures (for read-only
    tests); modules that write start again from clean()."""
    from database.scratch import clean
    from tests.apihelp import fill

    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = database_url_session
    clean(database_url_session)
    fill(shared_fixtures)
    yield database_url_session
    if previous is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = previous


@pytest.fixture
def boundaries_env(shared_fixtures, monkeypatch):
    """Point the API at the recorded boundaries file; no WattTime fallback."""
    monkeypatch.setenv("ENERGY_DATA_BOUNDARIES", str(shared_fixtures.parent / "geo" / "us_zones.geojson"))
    for name in ("WATTTIME_USERNAME", "WATTTIME_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
