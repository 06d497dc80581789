"""The API's access settings read from the environment, and their check at start-up.

Standard library only: deploy/gunicorn.conf.py runs this file by its path in the gunicorn
master, which must not import the application (workers import it, and import it anew after a
reload). A bad value stops gunicorn with one line naming it, instead of 500s later (a
RATE_LIMIT_DB that could not be opened failed every request with a key while /health said ok)."""
from __future__ import annotations

import ipaddress
import os
import sqlite3
import tempfile
from pathlib import Path

DEFAULT_METRICS_ALLOW = "127.0.0.1/32,::1/128"
DEFAULT_TRUSTED_PROXIES = "127.0.0.1/32,::1/128"


def networks(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """A comma list of addresses or networks; ValueError naming a bad one."""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()]


def rate_limit_path(env: dict[str, str] | None = None) -> Path:
    """RATE_LIMIT_DB, else a file of this user in the temporary folder."""
    env = os.environ if env is None else env
    return Path(env.get("RATE_LIMIT_DB") or Path(tempfile.gettempdir()) / f"energy-data-ratelimit-{os.getuid()}.sqlite")


def _rate_limit_problem(path: Path) -> str | None:
    """Open the counters' file and take its write lock once, as every request with a key will."""
    try:
        conn = sqlite3.connect(path, timeout=10, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"RATE_LIMIT_DB={path} cannot be opened for the rate-limit counters: {exc}"
    return None


def configuration_problems(env: dict[str, str]) -> list[str]:
    """What is wrong with the access settings of `env`, one line each (empty when nothing)."""
    problems = []
    for name, default in (("METRICS_ALLOW", DEFAULT_METRICS_ALLOW), ("TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES)):
        try:
            networks(env.get(name, default))
        except ValueError as exc:
            problems.append(f"{name}: {exc} (give a comma list of addresses or networks, e.g. 10.0.0.0/8,::1)")
    if env.get("API_KEYS_REQUIRED", "0") not in ("0", "1"):
        problems.append(f"API_KEYS_REQUIRED={env['API_KEYS_REQUIRED']!r}: use 1 (keys required) or 0")
    try:
        if not float(env.get("API_KEY_CACHE_SECONDS", "30")) >= 0:
            raise ValueError
    except ValueError:
        problems.append(f"API_KEY_CACHE_SECONDS={env['API_KEY_CACHE_SECONDS']!r}: give a number of seconds, 0 or "
                        "more")
    problem = _rate_limit_problem(rate_limit_path(env))
    if problem:
        problems.append(problem)
    return problems
