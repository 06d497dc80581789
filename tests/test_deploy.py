"""The deployment as an operator runs it (README "Deploy"), on this machine, as root: a real
PostgreSQL cluster prepared by scripts/setup/install-postgresql.sh, the crawler and the API
deployed by their scripts into a temporary prefix, the API under a real supervisord behind a
real nginx on loopback ports; then a streaming standby made with pg_basebackup serving a
second API. Everything started here is stopped, and the users and crontab made are removed.

CI runs it as root on Debian (`.ci/run`); elsewhere it skips and says why. Packages missing
from the machine (cron, PostgreSQL) are installed from the distribution without starting
their services; nginx comes unpacked from scripts/setup/nginx.sh, supervisor from
requirements-dev.txt."""
from __future__ import annotations

import glob
import http.client
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
import psycopg2.errors
import pytest

from tests.conftest import HAND_WRITTEN, REPO
from tests.test_service import free_port

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the deployment test runs as root (as CI does): it "
                                "creates system users, a PostgreSQL cluster, crontab lines, supervisor and nginx")

CRAWL_USER, API_USER = "energy-data-ci", "energy-data-api-ci"
TEST_VENV = Path(sys.executable).parent.parent  # runs supervisord (as root)
# The deployed virtualenv is built by the scripts from the distribution's Python, which the
# crawler's and the API's users can run (a Python under /root could not be).
SYSTEM_PYTHON = "/usr/bin/python3"
CISO_DAY = "start=2025-02-09T08:00:00Z&end=2025-02-10T08:00:00Z"


def run(*command: str, env: dict | None = None, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                            timeout=kwargs.pop("timeout", 600), **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def apt_install(*packages: str) -> None:
    """Install Debian packages without starting their services (policy-rc.d says no)."""
    policy = Path("/usr/sbin/policy-rc.d")
    made_policy = not policy.exists()
    if made_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        if run("apt-get", "install", "-y", "-q", *packages, env=env, check=False).returncode != 0:
            run("apt-get", "update", "-q", env=env)
            run("apt-get", "install", "-y", "-q", *packages, env=env)
    finally:
        if made_policy:
            policy.unlink()


def pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        apt_install("postgresql")
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return Path(found[-1]).parent


def read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


class Cluster:
    """A PostgreSQL cluster of the distribution's binaries, run as the postgres user."""

    def __init__(self, bin_dir: Path, root: Path, name: str):
        self.bin, self.data, self.socket = bin_dir, root / name, root / f"{name}-socket"
        self.port = free_port()
        self.log = root / f"{name}.log"

    def as_postgres(self, *command: str, **kwargs) -> subprocess.CompletedProcess:
        return run("runuser", "-u", "postgres", "--", *command, **kwargs)

    def init(self) -> None:
        self.data.mkdir()
        shutil.chown(self.data, "postgres", "postgres")
        # What a distribution cluster has: peer on the socket, passwords over TCP (no trust).
        self.as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth-local=peer",
                         "--auth-host=scram-sha-256")

    def start(self) -> None:
        self.socket.mkdir(exist_ok=True)
        shutil.chown(self.socket, "postgres", "postgres")
        self.log.touch()
        shutil.chown(self.log, "postgres", "postgres")
        self.as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-o",
                         f"-p {self.port} -k {self.socket} -c listen_addresses=127.0.0.1", "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)


class Host:
    """Paths and commands of the deployment under one temporary root."""

    def __init__(self, root: Path):
        self.root = root
        self.prefix = root / "opt"
        self.etc = root / "etc"
        self.log_dir = root / "log"
        self.env_file = self.etc / "energy-data.env"
        self.api_env_file = self.etc / "energy-data-api.env"
        self.nginx_dir = root / "nginx"
        self.supervisor_conf = root / "supervisor" / "supervisord.conf"
        self.api_port, self.nginx_port = free_port(), free_port()
        self.nginx_bin = run("bash", str(REPO / "scripts/setup/nginx.sh"), str(root / "nginx-package")).stdout.strip()
        self.nginx = [self.nginx_bin, "-p", str(self.nginx_dir), "-c", str(self.nginx_dir / "nginx.conf"),
                      "-e", str(self.nginx_dir / "error.log")]
        self.supervisorctl = [str(TEST_VENV / "bin" / "supervisorctl"), "-c", str(self.supervisor_conf)]
        self.venv = self.prefix / "venv"

    def deploy_env(self) -> dict[str, str]:
        return {"PREFIX": str(self.prefix), "PYTHON": SYSTEM_PYTHON, "REPO": str(REPO),
                "RUN_USER": CRAWL_USER, "API_USER": API_USER, "ENV_FILE": str(self.env_file),
                "API_ENV_FILE": str(self.api_env_file), "LOG_DIR": str(self.log_dir),
                "BACKUP_DIR": str(self.root / "backups"), "LOGROTATE_DIR": str(self.etc / "logrotate.d"),
                "STATE_DIR": str(self.root / "state"), "API_PORT": str(self.api_port), "WORKERS": "2",
                "LISTEN": f"127.0.0.1:{self.nginx_port}",
                "NGINX_SITE": str(self.nginx_dir / "sites-available" / "energy-data"),
                "NGINX_ENABLED_DIR": str(self.nginx_dir / "sites-enabled"),
                "NGINX_CACHE_DIR": str(self.nginx_dir / "cache"), "NGINX": shlex.join(self.nginx),
                "ADDRESS_RATE": "60r/m", "ADDRESS_BURST": "15",
                "SUPERVISOR_CONF_DIR": str(self.root / "supervisor" / "conf.d"),
                "SUPERVISORCTL": shlex.join(self.supervisorctl)}

    def start_supervisor(self) -> None:
        folder = self.supervisor_conf.parent
        (folder / "conf.d").mkdir(parents=True)
        self.supervisor_conf.write_text(
            f"[unix_http_server]\nfile={folder / 'supervisor.sock'}\nchmod=0700\n"
            f"[supervisord]\nlogfile={folder / 'supervisord.log'}\npidfile={folder / 'supervisord.pid'}\n"
            f"childlogdir={folder}\n"
            "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
            f"[supervisorctl]\nserverurl=unix://{folder / 'supervisor.sock'}\n"
            f"[include]\nfiles = {folder / 'conf.d'}/*.conf\n")
        run(str(TEST_VENV / "bin" / "supervisord"), "-c", str(self.supervisor_conf))

    def start_nginx(self) -> None:
        (self.nginx_dir / "sites-enabled").mkdir(parents=True)
        (self.nginx_dir / "sites-available").mkdir()
        temp_paths = "".join(f"{kind}_temp_path {self.nginx_dir / kind};\n"
                             for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (self.nginx_dir / "nginx.conf").write_text(
            f"user root;\npid {self.nginx_dir / 'nginx.pid'};\nerror_log {self.nginx_dir / 'error.log'};\n"
            f"events {{}}\nhttp {{\naccess_log {self.nginx_dir / 'access.log'};\n{temp_paths}"
            f"include {self.nginx_dir / 'sites-enabled'}/*;\n}}\n")
        run(*self.nginx)

    def as_crawler(self, *command: str) -> subprocess.CompletedProcess:
        """A command as the crawler's cron line runs it: its user, its env file, the release."""
        return run("runuser", "-u", CRAWL_USER, "--", "env", f"ENERGY_DATA_ENV={self.env_file}", f"VENV={self.venv}",
                   str(self.prefix / "current" / "deploy" / "run-crawler.sh"), *command, check=False)

    def admin(self, *command: str) -> subprocess.CompletedProcess:
        """A python -m command of the release with the admin's env file (keys, migrations)."""
        return run(str(self.venv / "bin" / "python"), "-m", *command, cwd=self.prefix / "current",
                   env=read_env(self.env_file))

    def get(self, path: str, port: int | None = None, source: str = "127.0.0.1", **headers: str):
        conn = http.client.HTTPConnection("127.0.0.1", port or self.nginx_port, timeout=30,
                                          source_address=(source, 0))
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def wait_for(self, path: str, port: int, want=lambda status, body: status == 200, timeout_s: float = 60):
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline:
            try:
                status, _, body = self.get(path, port)
                last = (status, body[:300])
                if want(status, body):
                    return status, body
            except OSError as exc:
                last = exc
            time.sleep(0.5)
        raise AssertionError(f"{path} on port {port} never answered as wanted; last: {last}")


def stop_daemon(command: list[str], pid_file: Path, timeout_s: float = 60) -> None:
    """Tell a daemon to stop, then wait for the process its pid file named to exit."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        pid = None
    run(*command, check=False)
    deadline = time.monotonic() + timeout_s
    while pid and time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)


def remove_users() -> None:
    """The test's users and their crontabs, once none of their processes is left (userdel
    refuses a user that still runs one)."""
    for user in (CRAWL_USER, API_USER):
        if subprocess.run(["id", "-u", user], capture_output=True).returncode != 0:
            continue
        subprocess.run(["crontab", "-u", user, "-r"], capture_output=True)
        deadline = time.monotonic() + 60
        while subprocess.run(["pgrep", "-u", user], capture_output=True).returncode == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        result = subprocess.run(["userdel", user], capture_output=True, text=True)
        assert result.returncode == 0, f"userdel {user}: {result.stderr}"


@pytest.fixture(scope="module")
def host():
    """The deployed host; torn down whatever happens."""
    if not Path(SYSTEM_PYTHON).exists() or run(SYSTEM_PYTHON, "-c", "import venv, ensurepip", check=False).returncode:
        pytest.skip(f"{SYSTEM_PYTHON} with venv is needed to build the deployed virtualenv")
    if not shutil.which("crontab"):
        apt_install("cron")
    bin_dir = pg_bin()
    root = Path(tempfile.mkdtemp(prefix="energy-data-deploy-"))
    root.chmod(0o755)  # the postgres, crawler and API users go through it
    primary = Cluster(bin_dir, root, "primary")
    deployed = Host(root)
    started = []
    try:
        primary.init()
        primary.start()
        started.append(primary.stop)
        deployed.install_env = {"ENV_FILE": str(deployed.env_file), "API_ENV_FILE": str(deployed.api_env_file),
                                "PGHOST": str(primary.socket), "PGPORT": str(primary.port),
                                "DB_PORT": str(primary.port), "PG_BIN": str(bin_dir), "SKIP_APT": "1"}
        run(str(REPO / "scripts/setup/install-postgresql.sh"), env=deployed.install_env)
        with deployed.api_env_file.open("a") as env:
            env.write("API_KEYS_REQUIRED=1\n")
        deployed.start_supervisor()
        started.append(lambda: stop_daemon([*deployed.supervisorctl, "shutdown"],
                                           deployed.supervisor_conf.parent / "supervisord.pid"))
        deployed.start_nginx()
        started.append(lambda: stop_daemon([*deployed.nginx, "-s", "stop"], deployed.nginx_dir / "nginx.pid"))
        for _ in range(2):  # twice: the second deploy must change nothing it should not
            run(str(REPO / "deploy/deploy-crawler.sh"), env=deployed.deploy_env())
        run(str(REPO / "deploy/deploy-rest-api.sh"), env=deployed.deploy_env())
        deployed.wait_for("/health", deployed.api_port)
        deployed.primary, deployed.started = primary, started
        yield deployed
    finally:
        for stop in reversed(started):
            stop()
        remove_users()
        shutil.rmtree(root, ignore_errors=True)


def test_env_files_are_private_and_no_trust_anywhere(host):
    for path in (host.env_file, host.api_env_file):
        assert path.stat().st_mode & 0o777 == 0o600
    assert set(read_env(host.env_file)) >= {"DATABASE_URL", "ADMIN_DATABASE_URL"}
    assert set(read_env(host.api_env_file)) == {"API_DATABASE_URL", "API_KEYS_REQUIRED"}  # no writer's password
    hba = host.primary.as_postgres(str(host.primary.bin / "psql"), "-h", str(host.primary.socket), "-p",
                                   str(host.primary.port), "-At", "-c", "SELECT auth_method FROM pg_hba_file_rules")
    assert set(hba.stdout.split()) <= {"peer", "scram-sha-256"}
    url = read_env(host.api_env_file)["API_DATABASE_URL"]
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(url.replace("@127.0.0.1", "x@127.0.0.1"))  # a wrong password is refused


def test_installing_again_keeps_the_passwords_and_other_settings(host):
    with host.env_file.open("a") as env:
        env.write("EIA_API_KEY=kept-as-written\n")
    before = read_env(host.env_file), read_env(host.api_env_file)
    run(str(REPO / "scripts/setup/install-postgresql.sh"), env=host.install_env)
    assert (read_env(host.env_file), read_env(host.api_env_file)) == before
    assert host.env_file.stat().st_mode & 0o777 == 0o600
    psycopg2.connect(before[1]["API_DATABASE_URL"]).close()  # the password still works


def test_the_api_role_cannot_write(host):
    conn = psycopg2.connect(read_env(host.api_env_file)["API_DATABASE_URL"])
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT current_user, count(*) FROM region")
        assert cur.fetchone()[0] == "energy_reader"
        cur.execute("SET default_transaction_read_only = off")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("INSERT INTO crawl_run (source_id, kind) SELECT id, 'run' FROM source LIMIT 1")
    conn.close()


def test_crontab_lines_are_present_once_after_two_deploys(host):
    lines = run("crontab", "-u", CRAWL_USER, "-l").stdout.splitlines()
    tags = [line.rsplit("# energy-data:", 1)[1] for line in lines if "# energy-data:" in line]
    assert sorted(tags) == ["backup", "crawl", "fit", "forecasts", "freshness", "prune"]
    crawl = next(line for line in lines if line.endswith("# energy-data:crawl"))
    assert crawl.startswith("* * * * * ") and str(host.prefix / "current" / "deploy" / "run-crawler.sh") in crawl


def test_logrotate_files_cover_every_log_and_parse(host):
    files = sorted((host.etc / "logrotate.d").iterdir())
    assert [f.name for f in files] == ["energy-data-api", "energy-data-crawler"]
    text = "".join(f.read_text() for f in files)
    for log in ("crawler.log", "prune.log", "backup.log", "freshness.log", "forecasts.log", "api-access.log",
                "api-error.log"):
        assert str(host.log_dir / log) in text
    if shutil.which("logrotate"):
        state = host.root / "logrotate.state"
        for f in files:
            run("logrotate", "--debug", "--state", str(state), str(f))


def test_through_nginx_health_data_keys_limits_and_the_access_log(host):
    # The crawler, deployed, writes as its role (a replay of a hand-written CAISO day).
    result = host.as_crawler("replay", "--source", "CAISO", str(HAND_WRITTEN / "CAISO" / "handwritten_20250209_fuelsource.csv"))
    assert result.returncode == 0 and ": ok: " in result.stdout, result.stdout + result.stderr
    key = host.admin("api.keys", "create", "ci-partner", "--per-minute", "3").stdout.strip()

    status, _, body = host.get("/health")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, headers, body = host.get(f"/carbon-intensity/?region=CISO&{CISO_DAY}")
    assert status == 401 and json.loads(body)["error"]["code"] == "api_key_required"
    status, _, body = host.get(f"/carbon-intensity/?region=CISO&{CISO_DAY}", **{"X-API-Key": key})
    assert status == 200 and len(json.loads(body)["carbon_intensities"]) == 288
    statuses = [host.get("/regions/", **{"X-API-Key": key})[0] for _ in range(3)]
    assert statuses[:2] == [200, 200] and statuses[2] == 429  # 3 a minute: the data query was the first
    status, headers, body = host.get("/regions/", **{"X-API-Key": key})
    assert status == 429 and int(headers["Retry-After"]) >= 1
    assert json.loads(body)["error"]["code"] == "rate_limited"

    # nginx's per-address limit (60/min, burst 15 here), from an address of its own.
    answers = [host.get("/health", source="127.0.0.7") for _ in range(40)]
    assert [a[0] for a in answers[:16]] == [200] * 16 and 429 in [a[0] for a in answers]
    rejected = next(a for a in answers if a[0] == 429)
    assert rejected[1]["Retry-After"] and json.loads(rejected[2])["error"]["code"] == "rate_limited"

    access = (host.log_dir / "api-access.log").read_text().splitlines()
    assert any("/carbon-intensity/" in line and line.endswith("key=ci-partner") for line in access)


def test_a_second_api_deploy_reloads_gracefully(host):
    before = run(*host.supervisorctl, "pid", "energy-data-api").stdout.strip()
    run(str(REPO / "deploy/deploy-rest-api.sh"), env=host.deploy_env())
    assert run(*host.supervisorctl, "pid", "energy-data-api").stdout.strip() == before  # HUP, not a restart
    host.wait_for("/health", host.api_port)


def test_freshness_check_and_backup_as_cron_runs_them(host):
    check = host.as_crawler("status", "--check")
    assert check.returncode == 1 and "STALE CAISO" in check.stdout  # a 2025 day is long stale
    result = run("runuser", "-u", CRAWL_USER, "--", "env", f"ENERGY_DATA_ENV={host.env_file}",
                 f"BACKUP_DIR={host.root / 'backups'}", f"PG_BIN={host.primary.bin}",
                 str(host.prefix / "current" / "deploy" / "run-backup.sh"), check=False)
    assert result.returncode == 0, result.stderr
    assert "BACKUP     last ok" in host.as_crawler("status").stdout

    # Restored as the deployed admin role (not a superuser) over its password login.
    url = read_env(host.env_file)["ADMIN_DATABASE_URL"]
    counts = "SELECT (SELECT count(*) FROM generation_reading), (SELECT count(*) FROM api_key), (SELECT count(*) FROM region)"

    def count_rows():
        conn = psycopg2.connect(url)
        with conn, conn.cursor() as cur:
            cur.execute(counts)
            row = cur.fetchone()
        conn.close()
        return row

    before = count_rows()
    assert before[0] > 0 and before[1] > 0
    [dump] = (host.root / "backups" / "daily").glob("*.dump")
    result = run(str(host.prefix / "current" / "deploy" / "restore-backup.sh"), str(dump),
                 env={"ENERGY_DATA_ENV": str(host.env_file), "PG_BIN": str(host.primary.bin)}, check=False)
    assert result.returncode == 0, result.stderr
    assert count_rows() == before
    host.wait_for("/health", host.api_port)  # the API reconnects to the restored schema


def test_a_streaming_standby_serves_the_api_while_the_crawler_writes_to_the_primary(host):
    primary = host.primary
    standby = Cluster(primary.bin, host.root, "standby")
    standby.data.mkdir(mode=0o700)
    shutil.chown(standby.data, "postgres", "postgres")
    primary.as_postgres(str(primary.bin / "pg_basebackup"), "-h", str(primary.socket), "-p", str(primary.port),
                        "-D", str(standby.data), "-R", "-X", "stream", "--checkpoint=fast")
    standby.start()
    host.started.append(standby.stop)
    api_port = free_port()
    reader_url = read_env(host.api_env_file)["API_DATABASE_URL"].replace(f":{primary.port}/", f":{standby.port}/")
    env = {**os.environ, "API_DATABASE_URL": reader_url, "PORT": str(api_port), "WEB_CONCURRENCY": "1",
           "RATE_LIMIT_DB": str(host.root / "state" / "standby-ratelimit.sqlite")}  # the API user's folder
    for name in ("DATABASE_URL", "API_KEYS_REQUIRED"):
        env.pop(name, None)
    server = subprocess.Popen(["runuser", "-u", API_USER, "--", "env", *(f"{k}={v}" for k, v in env.items()),
                               str(host.venv / "bin" / "gunicorn"), "--chdir", str(host.prefix / "current"), "--config",
                               str(host.prefix / "current" / "deploy" / "gunicorn.conf.py"), "api:create_app()"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _, body = host.wait_for("/health", api_port)
        health = json.loads(body)["database"]
        assert health["standby"] is True and "replay_lag_seconds" in health
        path = "/carbon-intensity/?region=CISO&start=2025-03-09T08:00:00Z&end=2025-03-10T07:00:00Z"

        def points(status: int, body: bytes) -> int:
            return len(json.loads(body).get("carbon_intensities", [])) if status == 200 else 0

        status, _, body = host.get(path, api_port)
        assert points(status, body) == 0  # not on the primary yet either
        result = host.as_crawler("replay", "--source", "CAISO",
                                 str(HAND_WRITTEN / "CAISO" / "handwritten_20250309_fuelsource.csv"))
        assert ": ok: " in result.stdout, result.stdout + result.stderr
        # Replayed on the standby within seconds (the wait gives up after 30).
        status, body = host.wait_for(path, api_port, want=lambda s, b: points(s, b) > 250, timeout_s=30)
        _, body = host.wait_for("/health", api_port)
        assert json.loads(body)["database"]["replay_lag_seconds"] is not None
    finally:
        server.terminate()
        server.wait(timeout=30)
