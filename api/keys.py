"""python -m api.keys {create,list,revoke}: API keys for external read-only access (README
"Deploy"). Runs as ADMIN_DATABASE_URL (else DATABASE_URL): the API's own role cannot write."""
from __future__ import annotations

import argparse
import re
import sys

from database.api_keys import KeyNameTaken, create_key, list_keys, revoke_key
from database.connection import DatabaseUnavailable, admin_database_url, connect

DEFAULT_PER_MINUTE = 60
MAX_PER_MINUTE = 1_000_000   # the column is a 32-bit integer; more a minute is no limit at all
NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")   # as the table's CHECK says


def key_name(text: str) -> str:
    """A key name as the table accepts it; argparse's usage error otherwise."""
    if not NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r}: a key name is 1-64 letters, digits, '.', '_' or '-'")
    return text


def per_minute(text: str) -> int:
    """Requests a minute: a whole number in 1..MAX_PER_MINUTE; argparse's usage error otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_PER_MINUTE:
        raise argparse.ArgumentTypeError(f"{value} is outside 1..{MAX_PER_MINUTE:,}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.keys", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="make a key and print it (it is shown only this once)")
    create.add_argument("name", type=key_name, help="who holds it: 1-64 letters, digits, . _ - (shown in the "
                                                      "access log)")
    create.add_argument("--per-minute", type=per_minute, default=DEFAULT_PER_MINUTE, metavar="N",
                        help=f"requests a minute allowed with it, 1-{MAX_PER_MINUTE:,} (default {DEFAULT_PER_MINUTE})")
    sub.add_parser("list", help="every key: name, prefix, limit, created, revoked")
    revoke = sub.add_parser("revoke", help="stop a key working (within API_KEY_CACHE_SECONDS)")
    revoke.add_argument("name", type=key_name)
    args = parser.parse_args(argv)
    try:
        conn = connect(admin_database_url(), application_name="energy-data keys")
    except DatabaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        with conn, conn.cursor() as cur:
            return _run(args, cur)
    finally:
        conn.close()


def _run(args: argparse.Namespace, cur) -> int:
    if args.command == "create":
        try:
            print(create_key(cur, args.name, args.per_minute))
        except KeyNameTaken as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"key {args.name!r} created ({args.per_minute}/min); store it now: it is not shown again",
              file=sys.stderr)
    elif args.command == "list":
        print(f"{'NAME':<24} {'PREFIX':<11} {'PER MIN':>7}  {'CREATED':<17} REVOKED")
        for key in list_keys(cur):
            print(f"{key.name:<24} {key.prefix:<11} {key.requests_per_minute:>7}  "
                  f"{key.created_at:%Y-%m-%d %H:%MZ} {key.revoked_at and f'{key.revoked_at:%Y-%m-%d %H:%MZ}' or '-'}")
    elif not revoke_key(cur, args.name):
        print(f"error: no live key named {args.name!r}", file=sys.stderr)
        return 1
    else:
        print(f"key {args.name!r} revoked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
