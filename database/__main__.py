"""python -m database {migrate,url,stop,recompute-intensity}"""
from __future__ import annotations

import argparse
import sys

from database.connection import DatabaseUnavailable, admin_database_url, connect, database_url, stop_embedded
from database.migrate import MigrationRefused, migrate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m database", description=__doc__)
    parser.add_argument("command", choices=("migrate", "url", "stop", "recompute-intensity"),
                        help="migrate: apply pending migrations; url: print the database URL "
                             "(starting the embedded server if needed); stop: stop the embedded server; "
                             "recompute-intensity: recompute every stored intensity from the current "
                             "emission factors (after editing the emission_factor table by hand)")
    args = parser.parse_args(argv)
    try:
        if args.command == "url":
            print(database_url())
        elif args.command == "stop":
            print("embedded PostgreSQL stopped" if stop_embedded() else "embedded PostgreSQL was not running")
        elif args.command == "recompute-intensity":
            print(f"recomputed {_recompute()} intervals")
        else:
            conn = connect(admin_database_url())
            try:
                applied = migrate(conn)
            finally:
                conn.close()
            print(f"applied {len(applied)} migration(s): {', '.join(applied)}" if applied else "schema up to date")
    except (DatabaseUnavailable, MigrationRefused) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _recompute() -> int:
    from database.emission_factors import recompute_intensities

    conn = connect()
    try:
        with conn, conn.cursor() as cur:
            return recompute_intensities(cur)
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
