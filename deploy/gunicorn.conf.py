"""gunicorn settings for the API. Timeouts nest: a query is cancelled by PostgreSQL after
10 s (database/pool.py), a worker by gunicorn after `timeout`, and nginx (deploy/nginx.conf)
waits a little longer than gunicorn, so a slow request ends with a log line, not a 504."""
import os
import shutil
import tempfile
from pathlib import Path

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = 1
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("ACCESS_LOG", "-")
# The combined format plus the API key's name (api/access.py puts it in the environ; "-" without one).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" key=%({energy_data.api_key}e)s'
errorlog = os.environ.get("ERROR_LOG", "-")

# /metrics adds up every worker's counters through files in this folder (set before the
# workers import prometheus_client).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR",
                      str(Path(tempfile.gettempdir()) / f"energy-data-metrics-{os.getpid()}"))


def on_starting(server):
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
