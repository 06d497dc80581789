"""python -m database {migrate,url,stop}"""
from __future__ import annotations

import argparse
import sys

from database.connection import DatabaseUnavailable, admin_database_url, connect, database_url, stop_embedded
from database.migrate import MigrationRefused, migrate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m database", description=__doc__)
    parser.add_argument("command", choices=("migrate", "url", "stop"),
                        help="migrate: apply pending migrations; url: print the database URL "
                             "(starting the embedded server if needed); stop: stop the embedded server")
    args = parser.parse_args(argv)
    try:
        if args.command == "url":
            print(database_url())
        elif args.command == "stop":
            print("embedded PostgreSQL stopped" if stop_embedded() else "embedded PostgreSQL was not running")
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


if __name__ == "__main__":
    sys.exit(main())
