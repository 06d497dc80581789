"""Parse benchmark: readings/second of each parser on its largest real recording, against
gridstatus' own parsing of the same bytes where gridstatus reads that format.

    .venv/bin/python scripts/bench/parse.py [--repeat 15] [--only NYISO ...] [--no-gridstatus] [--markdown]

Files come from ../shared/fixtures (ENERGY_DATA_SHARED overrides the folder); without it
the script says so and exits 0. gridstatus is never a dependency of the project: it lives
in its own virtualenv, `.bench-venv/` (created on first use with `python -m venv` and
`pip install -r scripts/bench/requirements-gridstatus.txt`, reused offline afterwards),
and runs in a worker process (this file with `--worker`, under that venv's python). The
worker feeds each file's bytes to gridstatus by replacing its HTTP helpers (requests.get,
`_get_json`, `make_api_call`, the zip download, `pd.read_csv(url)`) and times the
gridstatus functions that turn a body into its fuel-mix DataFrame, undecorated (its
date-range splitting is left out), time zones and DataFrame construction included, as
our `parse(Payload)` is timed from bytes to readings.

Both sides: one warm-up call, then --repeat timed calls of the same bytes, ours and
gridstatus' alternating call by call (so both see the same machine load); the median is
reported. "readings" counts the rows of ParseResult.readings plus net_imports; gridstatus'
figure counts the non-null fuel values of its output (rows x fuel columns, Imports
included). ratio = our readings/s / gridstatus values/s; "x faster" = gridstatus' time /
ours for the same file.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = Path(__file__).resolve().with_name("requirements-gridstatus.txt")
DEFAULT_VENV = REPO / ".bench-venv"

# (source, file, note, gridstatus case or None). Each parser's largest real generation-mix
# recording; the file is under ../shared/fixtures unless it starts with "tests/".
CASES: list[tuple[str, str, str, str | None]] = [
    ("CAISO", "tests/fixtures/CAISO/handwritten_20250209_fuelsource.csv",
     "hand-written: no recording exists", "caiso"),
    ("CAISO_DRW", "CAISO/20170312_DailyRenewablesWatch.txt", "", None),
    ("NYISO", "NYISO/20250201rtfuelmix_csv.days01-20.zip", "20 daily CSVs", "nyiso"),
    ("EIA", "EIA/PACW_fuel-type-data_2023-01-01_2023-01-08.json", "", "eia"),
    ("ISONE", "ISONE/genfuelmix_day_20240310.json", "DST day", "isone"),
    ("MISO", "MISO/miso_getfuelmix_2023-11-30T1245EST_imports-decimal_jqsorted.json",
     "one capture", "miso"),
    ("PJM", "PJM/gen_by_fuel.json", "", "pjm"),
    ("SPP", "SPP/GenMix_2018-07-27_DOCTORED.csv", "doctored: one fake column", "spp"),
    ("ERCOT", "ERCOT/fuel-mix_2025-10-08.json", "", "ercot"),
    ("BPA", "BPA/baltwg_2014-04-15_excerpt.txt", "excerpt", None),
    ("HI", "HI/islandpulse_mix_latest_2021-11-16.json", "one report", None),
    ("PREPA", "PREPA/US_PREPA_dataSource.js", "", None),
]


def shared_fixtures() -> Path:
    return Path(os.environ.get("ENERGY_DATA_SHARED", REPO.parent / "shared")) / "fixtures"


def case_path(name: str) -> Path:
    return REPO / name if name.startswith("tests/") else shared_fixtures() / name


# -- gridstatus, in its own virtualenv --------------------------------------------------

def ensure_venv(venv: Path) -> Path | None:
    """The bench venv's python with gridstatus installed, or None (said in one line)."""
    python = venv / "bin" / "python"
    stamp = venv / REQUIREMENTS.name
    wanted = REQUIREMENTS.read_text()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    log = venv / "pip.log"
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"installing gridstatus into {venv} (once) ...", file=sys.stderr, flush=True)
        with open(log, "w") as out:
            subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check",
                            "-r", str(REQUIREMENTS)], check=True, stdout=out, stderr=subprocess.STDOUT)
    except (OSError, subprocess.CalledProcessError) as exc:
        why = f"pip failed, see {log}" if isinstance(exc, subprocess.CalledProcessError) else str(exc)
        print(f"gridstatus: could not be installed in {venv} ({why}): our figures only")
        return None
    shutil.copyfile(REQUIREMENTS, stamp)
    return python


class Worker:
    """The gridstatus side: this file run with --worker under the bench venv's python,
    answering one JSON line per request, so that its calls interleave with ours."""

    def __init__(self, python: Path):
        with open(python.parent.parent / "worker.log", "w") as log:  # its tracebacks, if any
            self.process = subprocess.Popen([str(python), str(Path(__file__).resolve()), "--worker"],
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                            text=True, bufsize=1)
        self.versions = self.ask(None)

    def ask(self, request: dict | None) -> dict:
        if request is not None:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"gridstatus worker exited (code {self.process.wait()}, see worker.log "
                               "in its virtualenv)")
        return json.loads(line)

    def close(self) -> None:
        try:
            self.process.stdin.close()
        except OSError:
            pass  # it is gone already
        self.process.wait(timeout=60)


def bench(cases, repeat: int, worker: Worker | None) -> tuple[dict, dict]:
    """Per file: our parse and gridstatus' alternate call by call, so both see the same load."""
    import logging

    sys.path.insert(0, str(REPO))
    from crawler.__main__ import read_payload
    from crawler.crawl import REGISTRY

    logging.disable(logging.WARNING)  # parsers log anomalies; keep the table readable
    ours, theirs = {}, {}
    for source, name, _, gs in cases:
        payload = read_payload(case_path(name))
        module = REGISTRY[source].module
        result = module.parse(payload)  # the warm-up
        ours[source] = {"times": [], "readings": len(result.readings),
                        "net_imports": len(result.net_imports)}
        other = None
        if gs and worker is not None:
            try:
                other = theirs[gs] = worker.ask({"case": gs, "path": str(case_path(name))})
            except (OSError, RuntimeError, ValueError) as exc:
                print(f"gridstatus: {exc}: our figures only from here on")
                worker = None
            if other is not None and "error" not in other:
                other["times"] = []
        for _ in range(repeat):
            start = time.perf_counter()
            module.parse(payload)
            ours[source]["times"].append(time.perf_counter() - start)
            if other is not None and "error" not in other and worker is not None:
                other["times"].append(worker.ask({"run": True})["seconds"])
    logging.disable(logging.NOTSET)
    return ours, theirs


def serve_gridstatus() -> None:
    """The worker, under the bench venv: a first line with the versions, then for each
    request line {"case", "path"} the shape of gridstatus' output for that file (after an
    untimed call) or its error, and for each {"run"} the seconds one more call took."""
    import contextlib
    import io
    import logging
    import warnings
    import zipfile
    from importlib.metadata import version
    from unittest import mock

    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    import gridstatus
    import pandas as pd
    from gridstatus import nyiso as gs_nyiso
    from gridstatus import spp as gs_spp
    from gridstatus.caiso import caiso as gs_caiso
    from gridstatus.isone_api.isone_api import ISONEAPI

    class Response:
        """What gridstatus reads of a requests.Response: the body, decoded as requests would."""
        status_code = 200

        def __init__(self, body: bytes):
            self.content = body
            self.headers = {"Content-Type": "text/plain"}

        @property
        def text(self) -> str:
            return self.content.decode("utf-8")

        def json(self):
            return json.loads(self.content)

        def raise_for_status(self) -> None:
            pass

    def undecorated(method):
        return getattr(method, "__wrapped__", method)

    def caiso(body, stack):
        iso = gridstatus.CAISO()
        stack.enter_context(mock.patch.object(gs_caiso.requests, "get", lambda *a, **k: Response(body)))
        day = pd.Timestamp("2025-02-09", tz=iso.default_timezone)
        return lambda: iso._get_historical_fuel_mix(day)

    def nyiso(body, stack):
        iso = gridstatus.NYISO()
        stack.enter_context(mock.patch.object(gs_nyiso.utils, "get_zip_folder",
                                              lambda *a, **k: zipfile.ZipFile(io.BytesIO(body))))
        start = pd.Timestamp("2025-02-01", tz=iso.default_timezone)
        end = pd.Timestamp("2025-02-21", tz=iso.default_timezone)
        get = undecorated(type(iso).get_fuel_mix)
        return lambda: get(iso, date=start, end=end)

    def isone(body, stack):
        stack.enter_context(mock.patch.dict(os.environ, {"ISONE_API_USERNAME": "bench",
                                                         "ISONE_API_PASSWORD": "bench"}))
        iso = ISONEAPI()
        iso.make_api_call = lambda url, *a, **k: json.loads(body)
        day = pd.Timestamp("2024-03-10", tz=iso.default_timezone)
        get = undecorated(type(iso).get_fuel_mix)
        return lambda: get(iso, date=day)

    def miso(body, stack):
        iso = gridstatus.MISO()
        iso._get_json = lambda url, *a, **k: json.loads(body)
        return lambda: iso.get_fuel_mix("latest")

    def pjm(body, stack):
        iso = gridstatus.PJM(api_key="bench")
        iso._make_api_call = lambda url, *a, **k: json.loads(body)
        day = pd.Timestamp("2025-02-09", tz=iso.default_timezone)
        get = undecorated(type(iso).get_fuel_mix)
        return lambda: get(iso, date=day)

    def spp(body, stack):
        iso = gridstatus.SPP()
        read_csv = pd.read_csv
        stack.enter_context(mock.patch.object(gs_spp.pd, "read_csv",
                                              lambda url, *a, **k: read_csv(io.BytesIO(body), *a, **k)))
        # One BAA's file, as get_fuel_mix reads one per BAA (SPP and SWPW) and sums them.
        return lambda: iso._get_fuel_mix(date="latest")

    def ercot(body, stack):
        iso = gridstatus.Ercot()
        iso._get_json = lambda url, *a, **k: json.loads(body)
        return lambda: iso.get_fuel_mix("latest")

    def eia(body, stack):
        iso = gridstatus.EIA(api_key="bench")
        iso.session.get = lambda *a, **k: Response(body)
        return lambda: iso.get_dataset("electricity/rto/fuel-type-data", start="2023-01-01", end="2023-01-08")

    builders = {"caiso": caiso, "nyiso": nyiso, "isone": isone, "miso": miso, "pjm": pjm,
                "spp": spp, "ercot": ercot, "eia": eia}

    def answer(message: dict) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    answer({"gridstatus": version("gridstatus"), "pandas": pd.__version__})
    call, stack = None, contextlib.ExitStack()
    for line in sys.stdin:
        request = json.loads(line)
        if "run" in request:
            start = time.perf_counter()
            call()
            answer({"seconds": time.perf_counter() - start})
            continue
        stack.close()
        stack = contextlib.ExitStack()
        try:
            call = builders[request["case"]](Path(request["path"]).read_bytes(), stack)
            frame = call()  # the warm-up
        except Exception as exc:  # noqa: BLE001 - gridstatus failing on a real file is a result
            answer({"error": f"{type(exc).__name__}: {exc}"[:80]})
            continue
        values = frame.select_dtypes("number")
        answer({"rows": len(frame), "columns": values.shape[1], "values": int(values.notna().sum().sum())})
    stack.close()


# -- report -----------------------------------------------------------------------------

def table(cases, ours: dict, theirs: dict, markdown: bool) -> str:
    head = ["parser", "file", "readings", "ours ms", "ours readings/s", "gridstatus rows x fuels",
            "gridstatus ms", "gridstatus values/s", "ratio", "x faster"]
    rows = []
    for source, name, note, gs in cases:
        mine = ours[source]
        readings = mine["readings"] + mine["net_imports"]
        ms = statistics.median(mine["times"]) * 1000
        shown = Path(name).name + (f" ({note})" if note else "")
        count = f"{mine['readings']:,}" + (f"+{mine['net_imports']:,}" if mine["net_imports"] else "")
        row = [source, shown, count, f"{ms:.2f}", f"{readings / ms * 1000:,.0f}"]
        other = theirs.get(gs) if gs else None
        if gs is None:
            row += ["no gridstatus parser", "", "", "", ""]
        elif other is None:
            row += ["not run", "", "", "", ""]
        elif "error" in other:
            row += [f"fails: {other['error']}", "", "", "", ""]
        else:
            gs_ms = statistics.median(other["times"]) * 1000
            gs_rate = other["values"] / gs_ms * 1000
            row += [f"{other['rows']:,} x {other['columns']} = {other['values']:,}", f"{gs_ms:.2f}",
                    f"{gs_rate:,.0f}", f"{readings / ms * 1000 / gs_rate:.2f}", f"{gs_ms / ms:.2f}"]
        rows.append(row)
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    numeric = {2, 3, 4, 6, 7, 8, 9}

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).rjust(w) if i in numeric else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(head)] + [line(r) for r in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed calls per file and side (median shown)")
    parser.add_argument("--only", nargs="+", metavar="SOURCE", help="these parsers only")
    parser.add_argument("--no-gridstatus", action="store_true", help="our figures only")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="gridstatus' virtualenv")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return serve_gridstatus()

    fixtures = shared_fixtures()
    if not fixtures.is_dir():
        print(f"recorded fixtures not found at {fixtures} (set ENERGY_DATA_SHARED): nothing to benchmark")
        return
    cases = [c for c in CASES if not args.only or c[0] in {s.upper() for s in args.only}]
    missing = [str(case_path(c[1])) for c in cases if not case_path(c[1]).is_file()]
    if missing:
        print(f"left out, file not found: {', '.join(missing)}")
        cases = [c for c in cases if case_path(c[1]).is_file()]

    worker = None
    if not args.no_gridstatus and any(c[3] for c in cases):
        python = ensure_venv(args.venv)
        if python is not None:
            try:
                worker = Worker(python)
            except (OSError, RuntimeError, ValueError) as exc:
                print(f"gridstatus: worker failed to start ({exc}): our figures only")
    ours, theirs = bench(cases, args.repeat, worker)
    if worker is not None:
        worker.close()

    import pandas as pd

    versions = f"ours: pandas {pd.__version__}"
    if worker is not None:
        versions += f"; gridstatus {worker.versions['gridstatus']}: pandas {worker.versions['pandas']}"
    print(f"median of {args.repeat} parses of the same bytes after one warm-up ({versions}); "
          "readings = generation + net-import rows")
    print(table(cases, ours, theirs, args.markdown))


if __name__ == "__main__":
    main()
