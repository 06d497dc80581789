"""What /health reports about the database, and how far a standby's replay lags behind."""
from __future__ import annotations


def database_health(cur) -> dict:
    cur.execute("SELECT (SELECT max(name) FROM schema_migration), (SELECT max(last_ts) FROM series), "
                "pg_is_in_recovery(), extract(epoch FROM now() - pg_last_xact_replay_timestamp())")
    schema, newest, standby, lag = cur.fetchone()
    health = {"schema": schema, "newest_data": newest.isoformat() if newest else None, "standby": standby}
    if standby:
        # Seconds since the newest transaction replayed was committed on the primary: a lag
        # while the primary writes, and just the time since its last write when it is idle.
        health["replay_lag_seconds"] = None if lag is None else round(float(lag), 3)
    return health
