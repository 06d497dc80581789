"""`python -m crawler status --check`: the exit status a monitor or cron mail acts on."""
from __future__ import annotations

from tests.crawlhelp import crawler_cli


def set_newest(db, newest_by_source: dict[str, str]) -> None:
    """Say (in `series`, which status reads) that each source's newest data starts then."""
    with db.cursor() as cur:
        cur.execute("DELETE FROM series")
        for name, newest in newest_by_source.items():
            cur.execute("INSERT INTO series (region_id, source_id, first_ts, last_ts, row_count) "
                        "SELECT (SELECT min(id) FROM region), id, %s::timestamptz - interval '1 day', %s, 10 "
                        "FROM source WHERE name = %s", (newest, newest, name))


def test_check_passes_when_every_enabled_source_is_fresh(db, monkeypatch):
    monkeypatch.delenv("EIA_API_KEY", raising=False)
    assert crawler_cli("status").returncode == 0  # registers the sources
    with db.cursor() as cur:
        cur.execute("SELECT name FROM source")
        names = [r[0] for r in cur.fetchall()]
    set_newest(db, {name: "now" for name in names})
    result = crawler_cli("status", "--check")
    assert result.returncode == 0, result.stderr
    assert "STALE" not in result.stderr


def test_check_fails_naming_each_stale_or_empty_enabled_source_only(db, monkeypatch):
    monkeypatch.delenv("EIA_API_KEY", raising=False)
    assert crawler_cli("status").returncode == 0
    with db.cursor() as cur:
        cur.execute("SELECT name FROM source WHERE name NOT IN ('NYISO', 'MISO')")
        fresh = {r[0]: "now" for r in cur.fetchall()}
    set_newest(db, {**fresh, "NYISO": "2025-02-20 04:55Z", "EIA": "2023-01-07 23:00Z"})  # MISO: nothing
    result = crawler_cli("status", "--check")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    named = sorted(line.split()[1].rstrip(":") for line in lines if line.startswith("STALE "))
    assert named == ["MISO", "NYISO"]  # EIA is stale too but disabled (no EIA_API_KEY): not a failure
    nyiso = next(line for line in lines if line.startswith("STALE NYISO"))
    assert "2025-02-20 04:55Z" in nyiso and "threshold 1.0 h" in nyiso
    assert "STALE MISO: no data stored yet" in lines
    # Without --check the same state is a report, not a failure.
    assert crawler_cli("status").returncode == 0
