"""The servers the benchmarks start, and what they measure of them: wrk's numbers and the server's own
CPU and memory, read from /proc."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.environments import processes

REPO = Path(__file__).resolve().parents[1]
HOST = processes.LOOPBACK

SERVERS = {
    # name: (how it is started, what it serves)
    "default": "python -m sentiment serve (Granian)",
    "gunicorn": "python -m sentiment serve --server gunicorn",
    "fastapi": "uvicorn bench.fastapi_app:app --workers N (FastAPI + uvicorn peer)",
    "naive": "gunicorn bench.naive_app:api (Keras model.predict per request)",
    "floor": "haproxy answering a canned /predict body, no application: the machine's own latency",
}
SECOND = "second"  # the default server with the --second-model artifact
FLOOR_BODY = '{"score": 0.211803, "label": "negative", "model_version": "000000000000"}'


def server_command(name: str, bind: str, workers: int) -> list[str]:
    host, _, port = bind.rpartition(":")
    if name in ("default", SECOND):
        return [*processes.serve_command(bind), "--workers", str(workers)]
    if name == "gunicorn":
        return [*processes.serve_command(bind, "gunicorn"), "--workers", str(workers)]
    if name == "fastapi":
        return [sys.executable, "-m", "uvicorn", "bench.fastapi_app:app", "--host", host, "--port", port,
                "--workers", str(workers), "--no-access-log", "--log-level", "warning"]  # fmt: skip
    if name == "floor":
        return ["haproxy", "-db", "-f", str(floor_config(bind, workers))]
    if name == "naive":
        return [*processes.gunicorn_command(bind, "bench.naive_app:api"), "--workers", str(workers)]
    raise ValueError(f"no server {name!r}")


def floor_config(bind: str, threads: int) -> Path:
    """HAProxy answering every request itself with FLOOR_BODY: a server that costs next to nothing."""
    config = (
        f"global\n  nbthread {threads}\n"
        "defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n"
        f"frontend floor\n  bind {bind}\n"
        f"  http-request return status 200 content-type application/json string '{FLOOR_BODY}'\n"
    )
    with tempfile.NamedTemporaryFile("w", prefix="bench-floor-", suffix=".cfg", delete=False) as file:
        file.write(config)
    return Path(file.name)


def _wait_ready(url: str, timeout: float) -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if processes.http_ok(url, timeout=1):
            return
        time.sleep(0.01)
    raise TimeoutError(f"{url} not ready after {timeout:.0f}s")


def start_server(name: str, model_dir: Path, workers: int) -> tuple[subprocess.Popen, str, float]:
    """(process, base URL, seconds from launch to ready) of the server, started in its own session."""
    port = processes.free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SERVE_", "GUNICORN_", "MODEL_"))},
        "MODEL_DIR": str(model_dir),
        "SERVE_ACCESSLOG": "",
        "GUNICORN_ACCESSLOG": "",
        "GUNICORN_LOGLEVEL": "warning",
    }
    command = server_command(name, f"{HOST}:{port}", workers)
    started = time.monotonic()
    log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(command, env=env, cwd=REPO, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://{HOST}:{port}"
    try:
        _wait_ready(url + ("/health" if name == "naive" else "/ready"), 120)
    except BaseException:
        processes.stop_group(proc.pid)
        raise SystemExit(f"bench: {name} did not become ready; see {log.name}") from None
    return proc, url, time.monotonic() - started


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def server_pids(master: int) -> list[int]:
    """The server's processes: the master and all its descendants."""
    pids, todo = [], [master]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(_children(pid))
    return pids


def worker_pids(master: int) -> list[int]:
    """The server's worker processes: the master's children, less multiprocessing's resource tracker
    (uvicorn's supervisor starts one); a server without children (HAProxy's threads) is its own worker."""
    pids = []
    for pid in _children(master):
        try:
            if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(pid)
        except OSError:
            continue
    return pids or [master]


def worker_rss_mb(master: int) -> list[float]:
    rss = []
    for pid in worker_pids(master):
        status = Path(f"/proc/{pid}/status").read_text()
        rss.append(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024)
    return rss


def cpu_seconds(master: int) -> float:
    """User + system CPU of all the server's processes (master included) so far."""
    total = 0
    for pid in server_pids(master):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, connections: int, seconds: int, body: str | None) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        if body is not None:
            script.write(
                f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
            )
    threads = min(2, connections)
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s"]
    out = subprocess.run(
        [*command, "--latency", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    num = r"([\d.]+)(us|ms|s)"
    run = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(*re.match(num, lat["50"]).groups()),
        "p99_ms": _ms(*re.match(num, lat["99"]).groups()),
        "max_ms": _ms(*re.search(r"Latency\s+\S+\s+\S+\s+" + num, out).groups()),
        "non_2xx": float(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0.0,
        "errors": float(sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))),
    }
    run["failed"] = run["errors"] + run["non_2xx"]
    return run


def measured_wrk(master: int, url: str, connections: int, seconds: int, body: str | None) -> dict[str, float]:
    """A wrk run plus the server's CPU per answered request: what a request costs the service."""
    before = cpu_seconds(master)
    run = wrk(url, connections, seconds, body)
    run["cpu_us_per_request"] = round(1e6 * (cpu_seconds(master) - before) / max(run["rps"] * seconds, 1), 1)
    settle(master)
    return run


def settle(master: int, timeout: float = 30.0) -> None:
    """Wait until the server has finished the requests wrk left in flight (the naive baseline's 32
    take it seconds), so that the next run does not share the cores with them."""
    deadline = time.monotonic() + timeout
    busy = cpu_seconds(master)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = cpu_seconds(master)
        if now - busy < 0.01:  # under 5% of a core
            return
        busy = now


def idle_cpu_share(master: int, seconds: float = 2.0) -> float:
    """Share of one core the server uses while nobody sends it anything: what it would take from the
    others if it ran beside them."""
    before = cpu_seconds(master)
    time.sleep(seconds)
    return round((cpu_seconds(master) - before) / seconds, 4)
