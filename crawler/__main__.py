"""python -m crawler {run,backfill,parse,replay,status,import-emap-csv,scrub-secrets}: see README "Crawler"."""
from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import sys
import zlib
from datetime import date, datetime, timezone
from pathlib import Path

import psycopg2

from crawler.crawl import REGISTRY, Crawler, archived_payloads, get_source, staleness, utc_now
from energy_data.http import RedactingFilter, redact_body
from crawler.ingest import parse_payloads
from crawler.model import ParseError, Payload
from crawler.source import SourceSpec
from database.connection import DatabaseUnavailable
from database.migrate import MigrationRefused
from database.retention import RetentionPolicy


# One empty answer can be a feed between two days; two in a row are worth a look.
EMPTY_RUNS_SHOWN = 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _configure_logging(args.verbose)
    try:
        return args.handler(args)
    except (DatabaseUnavailable, MigrationRefused) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:  # the server went away mid-way
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"error: database: {first}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m crawler", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="fetch the sources that are due (what cron calls every minute)")
    run.add_argument("--source", action="append", default=[], metavar="S", help="only this source (repeatable)")
    run.add_argument("--force", action="store_true", help="fetch even if not due")
    run.add_argument("--dry-run", action="store_true", help="fetch and parse, write nothing")
    run.set_defaults(handler=_run)

    backfill = sub.add_parser("backfill", help="fetch a historical range in the source's natural chunks")
    backfill.add_argument("--source", required=True, metavar="S")
    backfill.add_argument("--start", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")
    backfill.add_argument("--end", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD",
                          help="exclusive")
    backfill.set_defaults(handler=_backfill)

    parse = sub.add_parser("parse", help="parse recorded files and print readings as JSON lines (no database)")
    parse.add_argument("source", metavar="SOURCE")
    parse.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parse.set_defaults(handler=_parse)

    replay = sub.add_parser("replay", help="ingest recorded payload files or folders through the write path")
    replay.add_argument("--source", metavar="S", help="source of the files (default: a folder named after one)")
    replay.add_argument("--archived", action="store_true",
                        help="re-ingest the bodies the crawler archived in the database (e.g. after a parser fix)")
    replay.add_argument("--since", type=_aware_time, metavar="TIME",
                        help="with --archived: bodies fetched at or after this ISO 8601 time")
    replay.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    replay.set_defaults(handler=_replay)

    prune = sub.add_parser("prune", help="delete archived payloads, issued forecasts and crawl runs past their "
                                         "retention (RETAIN_* variables; what cron runs nightly)")
    prune.add_argument("--dry-run", action="store_true", help="count what would go, delete nothing")
    prune.set_defaults(handler=_prune)

    status = sub.add_parser("status", help="one line per source: state, freshness, rows")
    status.add_argument("--check", action="store_true",
                        help="exit 1 naming each enabled source whose newest data is older than its threshold "
                             "(or that has none), for cron mail or a monitor")
    status.set_defaults(handler=_status)

    scrub = sub.add_parser("scrub-secrets", help="remove secrets from bodies archived before they were redacted")
    scrub.set_defaults(handler=_scrub_secrets)

    emap = sub.add_parser("import-emap-csv", help="import Electricity Maps data-portal CSV exports (hourly) as "
                          "source ELECTRICITYMAPS; idempotent")
    emap.add_argument("files", nargs="+", type=Path, metavar="FILE")
    emap.set_defaults(handler=_import_emap_csv)
    return parser


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
    # Each retry is a warning of urllib3's; the outcome is reported once per source instead.
    logging.getLogger("urllib3").setLevel(logging.INFO if verbose else logging.ERROR)


def _with_crawler(action):
    crawler = Crawler(out=lambda line: print(line, flush=True))
    try:
        return action(crawler)
    finally:
        crawler.close()


def _run(args: argparse.Namespace) -> int:
    for name in args.source:
        get_source(name)
    return _with_crawler(lambda c: c.run(args.source, args.force, args.dry_run, utc_now()))


def _backfill(args: argparse.Namespace) -> int:
    if args.end <= args.start:
        raise SystemExit("--end must be after --start (the range is [start, end))")
    source = get_source(args.source)
    return _with_crawler(lambda c: c.backfill(source, args.start, args.end, utc_now()))


def read_payload(path: Path, limit: int | None = None) -> Payload:
    """A recorded file as a payload; a gzip-compressed `.gz` file is decompressed. With
    `limit`, a file (or what it decompresses to) over that many bytes is refused (ParseError)
    before it is read whole."""
    size = path.stat().st_size
    if limit is not None and size > limit:
        raise ParseError(f"{size:,} bytes, over the {limit:,} read from one file; not read")
    body = path.read_bytes()
    name = str(path)
    if path.suffix == ".gz" and body[:2] == b"\x1f\x8b":
        body, name = _gunzip(body, limit), name[:-3]
    modified = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    return Payload(body=body, name=name, fetched_at=modified)


def _gunzip(body: bytes, limit: int | None) -> bytes:
    if limit is None:
        return gzip.decompress(body)
    inflated = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(body, limit + 1)
    if len(inflated) > limit:
        raise ParseError(f"decompresses to over {limit:,} bytes, the most read from one file; not read")
    return inflated


def _parse(args: argparse.Namespace) -> int:
    source = get_source(args.source)
    parsed = parse_payloads(source.name, source.module, [read_payload(p) for p in args.files], utc_now())
    for error in parsed.errors:
        print(f"error: {error}", file=sys.stderr)
    if parsed.result is not None:
        _print_result(parsed.result)
        for anomaly in parsed.anomalies:
            print(f"anomaly: {anomaly.kind} x{anomaly.count}: {anomaly.message}", file=sys.stderr)
    return 1 if parsed.errors else 0


def _print_result(result) -> None:
    out = sys.stdout
    for row in result.readings.itertuples(index=False):
        out.write(json.dumps({"region": row.region, "timestamp": row.timestamp.isoformat(),
                              "fuel": row.fuel, "mw": float(row.mw)}) + "\n")
    for row in result.rejected.itertuples(index=False):  # listed without a usable value: nothing stored
        out.write(json.dumps({"region": row.region, "timestamp": row.timestamp.isoformat(), "fuel": row.fuel,
                              "rejected": row.kind}) + "\n")
    for row in result.net_imports.itertuples(index=False):
        out.write(json.dumps({"region": row.region, "timestamp": row.timestamp.isoformat(),
                              "net_import_mw": float(row.mw)}) + "\n")
    for row in result.load.itertuples(index=False):
        out.write(json.dumps({"region": row.region, "timestamp": row.timestamp.isoformat(),
                              "load_mw": float(row.mw)}) + "\n")
    for row in result.flows.itertuples(index=False):
        out.write(json.dumps({"from_region": row.from_region, "to_region": row.to_region,
                              "timestamp": row.timestamp.isoformat(), "flow_mw": float(row.mw)}) + "\n")
    # intensity reported as intensity, marginal intensity, forecast inputs
    for frame in (result.reported, result.marginal, result.operator_forecasts, result.weather_forecasts):
        for row in frame.to_dict("records"):
            out.write(json.dumps({k: _plain(v) for k, v in row.items()}) + "\n")


def _plain(value):
    """A JSON value: times as ISO 8601, missing values (NaN, NaT, None) as null."""
    if value is None or (not isinstance(value, str) and value != value):
        return None
    return value.isoformat() if hasattr(value, "isoformat") else value


def _aware_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _replay(args: argparse.Namespace) -> int:
    if args.archived == bool(args.paths):
        raise SystemExit("give either PATH... or --archived")
    if args.archived:
        source = get_source(args.source) if args.source else None
        return _with_crawler(lambda c: c.replay(archived_payloads(c, source, args.since), utc_now()))
    items: list[tuple[SourceSpec, Payload]] = []
    for path in args.paths:
        if not path.exists():
            raise SystemExit(f"no such file or folder: {path}")
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.name.startswith(".") or file.suffix in (".md", ".ambr"):
                continue
            source = get_source(args.source) if args.source else _source_from_path(file)
            items.append((source, read_payload(file)))
    return _with_crawler(lambda c: c.replay(items, utc_now()))


def _source_from_path(path: Path) -> SourceSpec:
    for part in reversed(path.resolve().parent.parts):
        if part.upper() in REGISTRY:
            return REGISTRY[part.upper()]
    raise SystemExit(f"cannot tell the source of {path}: put it in a folder named after a source "
                     f"({', '.join(REGISTRY)}) or pass --source")


def _status(args: argparse.Namespace) -> int:
    from database.backups import latest_backups
    from database.crawl_runs import source_status
    from database.source_notes import notes_by_source
    from database.freshness import estimated_shares

    def show(crawler: Crawler) -> int:
        with crawler.meta.cursor() as cur:
            states = source_status(cur)
            remembered = notes_by_source(cur)
            shares = estimated_shares(cur)
        now = utc_now()
        failing = []
        width = max(10, *(len(name) for name in REGISTRY))
        # ESTIMATED: share of the intervals of the newest day of data (the 24 h before each
        # region's newest interval) that hold an estimate.
        print(f"{'SOURCE':<{width}} {'ENABLED':<7} {'EVERY':>5}  {'LAST SUCCESS':<17} {'NEWEST DATA':<17} "
              f"{'ROWS':>11} {'ESTIMATED':>9}  NOTES")
        for source in REGISTRY.values():
            st = states.get(source.name)
            reason = source.disabled_reason()
            notes = [f"disabled: {reason}"] if reason else []
            stale = staleness(source, st and st.newest_data, now)
            if stale:
                notes.append(f"STALE: {stale}")
            if st and st.empty_runs >= EMPTY_RUNS_SHOWN:
                notes.append(f"EMPTY: the last {st.empty_runs} runs returned no data")
            if not reason:  # what the source learned about its account (crawler/memory.py)
                notes += [f"{n.topic}: {n.note} ({_when(n.noted_at)})" for n in remembered.get(source.name, [])]
            if not reason and (stale or not (st and st.newest_data)):
                failing.append(f"{source.name}: {stale or 'no data stored yet'}")
            if st and st.last_error:
                notes.append(f"last error {_when(st.last_error_at)}: {st.last_error[:160]}")
            served, estimated = shares.get(source.name, (0, 0))
            share = f"{estimated / served:.1%}" if served else "-"
            print(f"{source.name:<{width}} {'no' if reason else 'yes':<7} {_every(source):>5}  "
                  f"{_when(st and st.last_success):<17} {_when(st and st.newest_data):<17} "
                  f"{(st.rows_stored if st else 0):>11} {share:>9}  {'; '.join(notes) or '-'}")
        with crawler.meta.cursor() as cur:
            print(_backup_line(*latest_backups(cur)))
        if args.check and failing:
            for line in failing:
                print(f"STALE {line}", file=sys.stderr)
            return 1
        return 0
    return _with_crawler(show)


def _scrub_secrets(args: argparse.Namespace) -> int:
    """Redact every archived body as the crawler now does before archiving (configured secret
    values, api_key-style JSON fields and query parameters); one transaction per body."""
    from database.payloads import payload_body, payload_ids, replace_body

    def scrub(crawler: Crawler) -> int:
        scrubbed = checked = last = 0
        while True:
            with crawler.meta.cursor() as cur:
                ids = payload_ids(cur, last)
            if not ids:
                break
            for payload_id in ids:
                with crawler.data, crawler.data.cursor() as cur:
                    body = payload_body(cur, payload_id)
                    clean = redact_body(body)
                    if clean != body:
                        replace_body(cur, payload_id, clean)
                        scrubbed += 1
                checked, last = checked + 1, payload_id
        print(f"{checked} archived bodies checked, {scrubbed} scrubbed")
        return 0
    return _with_crawler(scrub)


def _backup_line(ok, failed) -> str:
    """The newest backup (deploy/run-backup.sh) and a failure since, if any."""
    parts = []
    if ok:
        size = f"{ok.bytes / 1e6:.1f} MB" if ok.bytes is not None else "size unknown"
        parts.append(f"last ok {_when(ok.finished_at)}: {ok.file} ({size})"
                     + (f", copied to {ok.copied_to}" if ok.copied_to else ""))
    if failed:
        parts.append(f"FAILED {_when(failed.finished_at)}: {(failed.error or '')[:200]}")
    return f"{'BACKUP':<10} {'; '.join(parts) or 'none recorded (deploy/run-backup.sh)'}"


def retention_policy(env: dict[str, str]) -> RetentionPolicy:
    """RETAIN_PAYLOAD_DAYS, RETAIN_FORECAST_DAYS, RETAIN_CRAWL_RUN_DAYS (0: keep for ever),
    RETAIN_FAILED_PAYLOADS (1: past the payload days, keep bodies whose parse failed) and
    RETAIN_EVERY_INPUT_ISSUE_DAYS (forecast inputs: every issue kept this long, then one per
    6 hours; 0: never thinned)."""
    default = RetentionPolicy()

    def days(name: str, fallback: int | None) -> int | None:
        text = env.get(name, "").strip()
        if not text:
            return fallback
        if not text.isdigit():
            raise SystemExit(f"{name} must be a whole number of days (0 keeps for ever), not {text!r}")
        return int(text) or None

    failed = env.get("RETAIN_FAILED_PAYLOADS", "1").strip()
    if failed not in ("0", "1"):
        raise SystemExit(f"RETAIN_FAILED_PAYLOADS must be 0 or 1, not {failed!r}")
    return RetentionPolicy(days("RETAIN_PAYLOAD_DAYS", default.payload_days), failed == "1",
                           days("RETAIN_FORECAST_DAYS", default.forecast_days),
                           days("RETAIN_CRAWL_RUN_DAYS", default.crawl_run_days),
                           days("RETAIN_EVERY_INPUT_ISSUE_DAYS", default.input_issue_days))


def _prune(args: argparse.Namespace) -> int:
    from database.retention import prune

    policy = retention_policy(dict(os.environ))

    def run(crawler: Crawler) -> int:
        with crawler.data, crawler.data.cursor() as cur:
            deleted = prune(cur, policy, utc_now())
            if args.dry_run:
                crawler.data.rollback()
        kept = [kind for kind, days in (("payloads", policy.payload_days), ("forecasts", policy.forecast_days),
                                        ("crawl_runs", policy.crawl_run_days),
                                        ("every forecast-input issue", policy.input_issue_days)) if days is None]
        print(("would delete " if args.dry_run else "deleted ")
              + ", ".join(f"{count} {kind}" for kind, count in deleted.items())
              + (f"; kept for ever: {', '.join(kept)}" if kept else ""))
        return 0
    return _with_crawler(run)


def _import_emap_csv(args: argparse.Namespace) -> int:
    """Parse every file (an unreadable one is reported and skipped), then write the rest in
    one transaction: an unknown zone imports nothing."""
    from crawler.parsers import electricitymaps_csv as emap
    from database.connection import connect
    from database.migrate import migrate
    from database.reported import UnknownZone, source_id, write_reported_intensity

    parts, failed = [], 0
    for path in args.files:
        if not path.is_file():
            print(f"error: {path}: no such file", file=sys.stderr)
            failed += 1
            continue
        try:
            part = emap.parse(read_payload(path, limit=emap.MAX_EXPORT_BYTES), now=utc_now())
        except ParseError as exc:
            print(f"error: {path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        parts.append(part)
        for anomaly in part.anomalies:  # bad rows are skipped, each counted with its line
            print(f"anomaly: {path}: {anomaly.kind} x{anomaly.count}: {anomaly.message}", file=sys.stderr)
    batch = emap.concat(parts)
    for anomaly in batch.anomalies[sum(len(p.anomalies) for p in parts):]:  # across files
        print(f"anomaly: {anomaly.kind} x{anomaly.count}: {anomaly.message}", file=sys.stderr)
    conn = connect(application_name="energy-data import-emap-csv")
    try:
        migrate(conn)
        with conn, conn.cursor() as cur:
            counts = write_reported_intensity(cur, source_id(cur, "ELECTRICITYMAPS"), batch.rows,
                                              batch.interval_minutes)
    except UnknownZone as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    for region, rows in sorted((counts.by_region or {}).items()):
        print(f"ELECTRICITYMAPS {region}: {rows} rows")
    print(f"ELECTRICITYMAPS: {counts.inserted} inserted, {counts.updated} updated, {counts.unchanged} unchanged; "
          f"{batch.bad_rows} bad rows skipped" + (f"; {failed} file(s) not imported" if failed else ""))
    return 1 if failed else 0


def _every(source: SourceSpec) -> str:
    minutes = int(source.frequency.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def _when(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%MZ") if moment else "never"


if __name__ == "__main__":
    sys.exit(main())
