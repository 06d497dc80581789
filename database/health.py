"""What /health reports about the database."""
from __future__ import annotations


def database_health(cur) -> dict:
    cur.execute("SELECT (SELECT max(name) FROM schema_migration), (SELECT max(last_ts) FROM series)")
    schema, newest = cur.fetchone()
    return {"schema": schema, "newest_data": newest.isoformat() if newest else None}
