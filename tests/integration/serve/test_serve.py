"""`python -m sentiment serve` under both servers, Granian (the default) and gunicorn: what the
gunicorn setup guarantees holds under each. The model loads in the workers only; a server without
a usable model stops at start with one line; results stay right with many threads; metrics add up
over the workers, also after one is killed and respawned; SIGTERM lets an in-flight request finish;
over-limit requests are 4xx; connections spread over the workers; a saturated server queues."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipeline.environments import processes

pytestmark = pytest.mark.slow
SERVERS = ["granian", "gunicorn"]


def serve_env(model_dir: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "SERVE_", "GUNICORN_"))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return {**env, "MODEL_DIR": str(model_dir), "SERVE_ACCESSLOG": "", "GUNICORN_ACCESSLOG": "",
            "TMPDIR": str(tmp_path), **extra}  # fmt: skip


def start(server: str, model_dir: Path, tmp_path: Path, workers: int = 2, threads: int = 4, **extra: str):
    """(process, port) of `python -m sentiment serve --server SERVER` once /ready answers."""
    port = processes.free_port()
    command = [*processes.serve_command(f"127.0.0.1:{port}", server), "--workers", str(workers)]
    proc = processes.start_until_ready(
        [*command, "--threads", str(threads)], tmp_path / f"{server}.log",
        lambda: processes.http_ok(f"http://127.0.0.1:{port}/ready"), timeout_s=60,
        env=serve_env(model_dir, tmp_path, **extra),
    )  # fmt: skip
    return proc, port


@pytest.fixture(params=SERVERS)
def served(request, trained_dir, tmp_path):
    """(server name, master pid, port) of the service with 2 workers under each server."""
    proc, port = start(request.param, trained_dir, tmp_path)
    try:
        yield request.param, proc.pid, port
    finally:
        processes.stop_group(proc.pid)


def workers_of(master: int) -> list[int]:
    return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]


def wait_for_workers(master: int, count: int, port: int, timeout: float = 60) -> list[int]:
    """The worker pids once `count` workers run and have loaded the app (each reports itself live)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = workers_of(master)
        if len(pids) == count and all(litert_loaded(pid) for pid in pids) and metric_values(port)[WORKERS] == count:
            return pids
        time.sleep(0.2)
    live = metric_values(port)[WORKERS]
    raise AssertionError(f"{count} workers not serving after {timeout} s: {workers_of(master)}, {live} in /metrics")


def post(port: int, body: dict, timeout: float = 30) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/predict", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def metric_values(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


PREDICTED = ("sentiment_requests_total", (("method", "POST"), ("route", "/predict"), ("status", "200")))
WORKERS = ("sentiment_worker_processes", ())


def litert_loaded(pid: int) -> bool:
    try:
        return "ai_edge_litert" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def test_the_model_loads_in_the_workers_never_in_the_master(served):
    _, master, port = served
    workers = wait_for_workers(master, 2, port)
    assert all(litert_loaded(pid) for pid in workers)
    assert not litert_loaded(master), "the master process loaded the LiteRT runtime"


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("case", ["missing", "corrupt"])
def test_a_server_without_a_usable_model_stops_at_once_with_one_line(server, case, trained_dir, tmp_path):
    model = tmp_path / "model"
    if case == "corrupt":
        import shutil

        shutil.copytree(trained_dir, model)
        (model / "model.tflite").write_bytes(b"not a model")
    port = processes.free_port()
    started = time.monotonic()
    workers = "2"
    try:
        out = subprocess.run(
            [*processes.serve_command(f"127.0.0.1:{port}", server), "--workers", workers],
            env=serve_env(model, tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"{server} kept running (respawning workers?) without a usable model")
    own = [line for line in out.stderr.splitlines() if line.strip() and not line.startswith("[")]
    assert out.returncode != 0
    assert len(own) == 1 and own[0].startswith("sentiment: cannot start: "), out.stderr[-3000:]
    assert ("no model artifact" if case == "missing" else "checksum mismatch") in own[0]
    assert time.monotonic() - started < 30
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("sentiment-metrics-")], "metrics dir left behind"


def test_many_threads_each_score_right(served, model):
    """8 clients at once, singles and batches: every answer is the one the model gives in-process
    (threads sharing a LiteRT interpreter would mix up each other's tensors)."""
    _, _, port = served
    texts = [f"{word} film, {n} stars" for n, word in enumerate(["a wonderful", "a dull", "an odd", "a fine"] * 4)]
    expected = {t: r["score"] for t, r in zip(texts, model.predict(texts), strict=True)}
    wrong: list = []

    def client(offset: int) -> None:
        for i in range(30):
            text = texts[(offset + i) % len(texts)]
            if i % 3 == 0:
                batch = texts[i % 5 : i % 5 + 7]
                status, body = post(port, {"texts": batch})
                got = dict(zip(batch, [r["score"] for r in body], strict=True)) if status == 200 else {"": status}
            else:
                status, body = post(port, {"text": text})
                got = {text: body["score"]} if status == 200 else {"": status}
            wrong.extend((t, s) for t, s in got.items() if expected.get(t) != pytest.approx(s, abs=1e-5))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert wrong == []


def test_metrics_add_up_over_the_workers_and_after_one_is_killed(served):
    server, master, port = served
    wait_for_workers(master, 2, port)
    for _ in range(40):  # a new connection each time: the kernel spreads them over the workers
        assert post(port, {"text": "fine"})[0] == 200
    found = metric_values(port)
    assert found[PREDICTED] == 40 and found[WORKERS] == 2
    killed = workers_of(master)[0]
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while killed in (pids := workers_of(master)) or not (len(pids) == 2 and all(map(litert_loaded, pids))):
        assert time.monotonic() < deadline, f"no worker respawned: {pids}"
        time.sleep(0.2)
    time.sleep(3)  # the new worker has loaded its model and reports itself live
    for _ in range(20):
        assert post(port, {"text": "fine"})[0] == 200
    found = metric_values(port)
    # The dead worker's counts stay in the sum; its live gauge left with it (the server marked it dead).
    assert found[PREDICTED] == 60, server
    assert found[WORKERS] == 2, f"{server}: the killed worker is still counted as live"


def raw_request(port: int, request: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        with contextlib.suppress(OSError):  # the server may answer and close before it has read everything
            sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data:
                break
    return int(data.split(b" ", 2)[1])


def test_sigterm_lets_an_in_flight_request_finish(served):
    _, master, port = served
    body = json.dumps({"text": "a lovely, moving film"}).encode()
    head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head % len(body) + body[:8])
        time.sleep(0.5)
        os.kill(master, signal.SIGTERM)
        time.sleep(1)
        sock.sendall(body[8:])
        answer = b""
        while not (b"\r\n\r\n" in answer and answer.rstrip().endswith(b"}")):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["label"] == "positive"
    deadline = time.monotonic() + 30
    while processes.alive(master):
        assert time.monotonic() < deadline, "the server did not stop after SIGTERM"
        time.sleep(0.1)


OVER_LIMITS = [
    pytest.param(b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", id="request-line-100k"),
    pytest.param(
        b"GET /health HTTP/1.1\r\n" + b"".join(b"X-H%d: 1\r\n" % i for i in range(150)) + b"\r\n", id="150-headers"
    ),
    pytest.param(b"GET /health HTTP/1.1\r\nX-Big: " + b"b" * 70_000 + b"\r\n\r\n", id="header-70k"),
    pytest.param(b"BOGUS\r\n\r\n", id="invalid-request-line"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", id="invalid-content-length"),
    pytest.param(
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000012\r\n\r\n"
        + b'{"text": "'
        + b"a" * 2_000_000
        + b'"}',
        id="body-2MB",
    ),
]


def test_requests_over_the_limits_are_4xx_never_5xx(served):
    server, _, port = served
    statuses = {}
    for param in OVER_LIMITS:
        (request,) = param.values
        statuses[param.id] = raw_request(port, request)
    assert all(400 <= s < 500 for s in statuses.values()), (server, statuses)
    assert statuses["body-2MB"] == 413 and statuses["invalid-request-line"] == 400, (server, statuses)
    assert post(port, {"text": "still here"})[0] == 200


def test_a_saturated_server_queues_and_answers_every_request(trained_dir, tmp_path):
    """Decided: saturated, the server queues (Granian: SERVE_BACKPRESSURE requests per worker, then the
    listen backlog); no request is refused or dropped. 1 worker with 1 thread, 32 clients at once
    sending batches: every request is answered 200, none waits anywhere near the timeouts."""
    proc, port = start("granian", trained_dir, tmp_path, workers=1, threads=1)
    batch = {"texts": [f"a long and winding review, number {i}, of a film " * 8 for i in range(64)]}
    results: list = []

    def client() -> None:
        for _ in range(4):
            started = time.monotonic()
            try:
                status = post(port, batch, timeout=30)[0]
            except OSError as exc:
                status = type(exc).__name__
            results.append((status, time.monotonic() - started))

    try:
        clients = [threading.Thread(target=client) for _ in range(32)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(timeout=120)
    finally:
        processes.stop_group(proc.pid)
    assert [s for s, _ in results] == [200] * 128
    slowest = max(seconds for _, seconds in results)
    print(f"\n128 batch requests from 32 clients on 1 thread: slowest {slowest:.2f} s")
    assert slowest < 10


def established_per_worker(master: int, port: int) -> list[int]:
    established = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            established.add(fields[9])
    counts = []
    for pid in workers_of(master):
        fds = Path(f"/proc/{pid}/fd")
        inodes = set()
        for fd in fds.iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:"):
                inodes.add(target[8:-1])
        counts.append(len(inodes & established))
    return counts


@pytest.mark.skipif(__import__("shutil").which("wrk") is None, reason="needs wrk (apt-get install wrk)")
def test_connection_bursts_reach_both_granian_workers(trained_dir, tmp_path):
    proc, port = start("granian", trained_dir, tmp_path)
    try:
        time.sleep(1)
        splits = []
        for _ in range(4):
            load = subprocess.Popen(["wrk", "-t2", "-c32", "-d3s", f"http://127.0.0.1:{port}/health"],
                                    stdout=subprocess.DEVNULL)  # fmt: skip
            time.sleep(1.5)
            splits.append(established_per_worker(proc.pid, port))
            load.wait(timeout=30)
    finally:
        processes.stop_group(proc.pid)
    assert all(len(split) == 2 and min(split) >= 4 for split in splits), f"connections per worker: {splits}"


def test_serve_without_flags_is_granian_on_loopback(trained_dir, tmp_path):
    """The default server is Granian, on 127.0.0.1 (SERVE_BIND/GUNICORN_BIND say otherwise)."""
    port = processes.free_port()
    env = serve_env(trained_dir, tmp_path, SERVE_BIND=f"127.0.0.1:{port}", SERVE_WORKERS="1")
    proc = processes.start_until_ready(
        [sys.executable, "-m", "sentiment", "serve"], tmp_path / "default.log",
        lambda: processes.http_ok(f"http://127.0.0.1:{port}/ready"), timeout_s=60, env=env,
    )  # fmt: skip
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
            assert resp.headers["server"] == "granian"
        assert len(workers_of(proc.pid)) == 1
    finally:
        processes.stop_group(proc.pid)
