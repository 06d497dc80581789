"""HTTP load on loopback for scripts/bench/api.py: wrk with a generated Lua script when wrk is
installed, else a small asyncio HTTP/1.1 client. Both cycle through a fixed list of paths at a
fixed number of connections and report requests/s and latency percentiles."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Load:
    tool: str
    connections: int
    seconds: float
    requests: int
    non_2xx: int  # non-2xx/3xx answers
    errors: int  # connect, read, write and timeout errors
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def tool() -> str:
    return "wrk" if shutil.which("wrk") else "asyncio"


# wrk: each thread walks the list from its own offset; `done` prints one JSON line.
_LUA = """
local paths = {%(paths)s}
local counter = 0
local next_index = 1
function setup(thread)
  counter = counter + 1
  thread:set("next_index", 1 + ((counter - 1) * 7919) %% #paths)
end
request = function()
  local path = paths[next_index]
  next_index = next_index %% #paths + 1
  return wrk.format("GET", path)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests": %%d, "duration_us": %%d, "non_2xx": %%d, "errors": %%d, '
    .. '"p50_us": %%d, "p99_us": %%d}\\n', summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def run(base_url: str, paths: list[str], connections: int, seconds: float, threads: int = 1) -> Load:
    """Load `base_url` with `paths` (cycled) for `seconds` at `connections`."""
    if tool() == "wrk":
        return _wrk(base_url, paths, connections, seconds, threads)
    return asyncio.run(_asyncio_load(base_url, paths, connections, seconds))


def _wrk(base_url: str, paths: list[str], connections: int, seconds: float, threads: int) -> Load:
    lua = _LUA % {"paths": ", ".join(json.dumps(p) for p in paths)}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(lua)
    try:
        out = subprocess.run(
            ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
             "--timeout", "10s", "-s", file.name, base_url],
            check=True, capture_output=True, text=True).stdout
    finally:
        Path(file.name).unlink()
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    result = json.loads(line[len("BENCH "):])
    return Load("wrk", connections, result["duration_us"] / 1e6, result["requests"], result["non_2xx"],
                result["errors"], result["p50_us"] / 1e3, result["p99_us"] / 1e3)


async def _asyncio_load(base_url: str, paths: list[str], connections: int, seconds: float) -> Load:
    """Keep-alive HTTP/1.1 GETs; reconnects whenever the server closes (gunicorn's sync workers
    close after every answer)."""
    host, port = base_url.removeprefix("http://").rstrip("/").split(":")
    latencies: list[float] = []
    counts = {"non_2xx": 0, "errors": 0}
    deadline = time.perf_counter() + seconds

    async def one_connection(offset: int) -> None:
        index = offset
        reader = writer = None
        while time.perf_counter() < deadline:
            path = paths[index % len(paths)]
            index += 1
            started = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, int(port))
                writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split()[1])
                headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
                await reader.readexactly(int(headers.get("content-length", "0")))
                latencies.append(time.perf_counter() - started)
                if not 200 <= status < 400:
                    counts["non_2xx"] += 1
                if headers.get("connection", "").lower() == "close":
                    writer.close()
                    reader = writer = None
            except (OSError, asyncio.IncompleteReadError, ValueError):
                counts["errors"] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None

    started = time.perf_counter()
    await asyncio.gather(*(one_connection(i * 7919) for i in range(connections)))
    elapsed = time.perf_counter() - started
    values = np.array(latencies) * 1e3 if latencies else np.array([float("nan")])
    return Load("asyncio", connections, elapsed, len(latencies), counts["non_2xx"], counts["errors"],
                float(np.percentile(values, 50)), float(np.percentile(values, 99)))


# --- where the CPU went -----------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from 3 (state) on


def process_cpu(pid: int, reaped_children: bool = False) -> float:
    """CPU seconds of a process (and of its children it has waited for, if asked)."""
    fields = _proc_stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / _TICK


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _proc_stat(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its exited children and its live children."""
    return process_cpu(pid, reaped_children=True) + sum(process_cpu(c) for c in children(pid))


def machine_cpu() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    return (user + nice + system + irq + softirq) / _TICK, steal / _TICK


@dataclass
class CpuShare:
    """CPU seconds spent during one measurement, by whom."""

    gunicorn: float
    postgres: float | None  # None when the server is not on this machine
    load_generator: float
    others: float  # every other process on the machine
    steal: float  # taken by the hypervisor
    wall: float


class CpuMeter:
    """Samples the CPU of gunicorn's process tree, the PostgreSQL server (if local), the load
    generator (a child of this process) and the rest of the machine."""

    def __init__(self, gunicorn_pid: int, postmaster_pid: int | None):
        self.gunicorn_pid = gunicorn_pid
        self.postmaster_pid = postmaster_pid

    def _sample(self) -> tuple[float, ...]:
        import resource

        own = resource.getrusage(resource.RUSAGE_CHILDREN)  # the exited wrk runs
        this = resource.getrusage(resource.RUSAGE_SELF)  # the asyncio client, if used
        busy, steal = machine_cpu()
        return (time.perf_counter(), tree_cpu(self.gunicorn_pid),
                tree_cpu(self.postmaster_pid) if self.postmaster_pid else 0.0,
                own.ru_utime + own.ru_stime + this.ru_utime + this.ru_stime, busy, steal)

    def start(self) -> None:
        self._before = self._sample()

    def stop(self) -> CpuShare:
        after = self._sample()
        wall, gunicorn, postgres, loadgen, busy, steal = (a - b for a, b in zip(after, self._before))
        # This process's own CPU while waiting for wrk is tiny; count it with the load generator.
        return CpuShare(gunicorn, postgres if self.postmaster_pid else None, loadgen,
                        max(0.0, busy - gunicorn - postgres - loadgen), steal, wall)
