"""gunicorn settings for the API. Timeouts nest: a query is cancelled by PostgreSQL after
10 s (database/pool.py), a worker by gunicorn after `timeout`, and nginx (deploy/nginx.conf)
waits a little longer than gunicorn, so a slow request ends with a log line, not a 504.

Workers are threaded (`gthread`, WEB_THREADS threads each): a long request (a large schedule,
bounded by the scheduler's work budget to a few seconds) holds one thread, not a whole worker,
so /health and short requests keep answering beside it, and each worker hands the interpreter
lock over every millisecond instead of every 5 (a short request waits less for a busy thread).
With 2 sync workers, three heavy requests made /health wait 33.5 s; scripts/bench/stall.py
measures it (README "Performance").

At start the access settings are checked (a RATE_LIMIT_DB that cannot be opened stops gunicorn
with one line), and the metrics folder gunicorn makes for itself is removed when it exits."""
import os
import re
import runpy
import shutil
import sys
import tempfile
from pathlib import Path

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
SWITCH_INTERVAL_S = 0.001   # Python's default, 0.005, let a CPU-bound thread keep /health waiting longer
timeout = 30
graceful_timeout = 20
keepalive = 5
# nginx (deploy/nginx.conf) reads request lines of up to 8 kB (large_client_header_buffers 8k,
# CRLF included): gunicorn takes every line nginx passes (its own default, 4,094, answered the
# lines between with an HTML 414), and the API answers them in JSON.
limit_request_line = 8190
accesslog = os.environ.get("ACCESS_LOG", "-")
# The combined format plus the API key's name (api/access.py puts it in the environ; "-" without one).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" key=%({energy_data.api_key}e)s'
errorlog = os.environ.get("ERROR_LOG", "-")

# /metrics adds up every worker's counters through files in this folder (set before the
# workers import prometheus_client). Unless the environment names one, it is a temporary
# folder named after this master process, which removes it when it exits.
METRICS_PREFIX = "energy-data-metrics-"
_OURS = re.compile(re.escape(METRICS_PREFIX) + r"(\d+)$")


def _own_metrics_folder(pid: int) -> Path:
    return Path(tempfile.gettempdir()) / f"{METRICS_PREFIX}{pid}"


def _named_by_another_master(folder: str) -> bool:
    """A folder of ours named after another master: the one that re-executed this one (USR2)."""
    found = _OURS.match(Path(folder).name)
    return found is not None and int(found.group(1)) != os.getpid()


if not os.environ.get("PROMETHEUS_MULTIPROC_DIR") or _named_by_another_master(os.environ["PROMETHEUS_MULTIPROC_DIR"]):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_own_metrics_folder(os.getpid()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_metrics_folders() -> None:
    """Folders of masters that were killed before they could remove their own."""
    for folder in Path(tempfile.gettempdir()).glob(f"{METRICS_PREFIX}*"):
        found = _OURS.match(folder.name)
        if found and folder.is_dir() and folder.stat().st_uid == os.getuid() and not _alive(int(found.group(1))):
            shutil.rmtree(folder, ignore_errors=True)


def on_starting(server):
    # By the file's path: the master imports nothing of the app (workers import it, anew after a HUP).
    check = runpy.run_path(str(Path(__file__).resolve().parent.parent / "api" / "configuration.py"))
    problems = check["configuration_problems"](dict(os.environ))
    if problems:  # gunicorn prints it as "Error: ..." and exits 1
        raise RuntimeError("energy-data configuration: " + "; ".join(problems))
    _remove_stale_metrics_folders()
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def post_fork(server, worker):
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if folder == _own_metrics_folder(os.getpid()):  # a folder the environment named is its owner's
        shutil.rmtree(folder, ignore_errors=True)
