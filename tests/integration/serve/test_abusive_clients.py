"""What one client can do to the service through the local endpoint: the real HAProxy (pipeline's
LoadBalancer) in front of the real service (`python -m sentiment serve`, Granian, 2 workers), loopback only.

Each abusive client uses its own loopback address (127.0.0.x) and normal /predict comes from 127.0.0.1,
so the per-client limits tell them apart as they would tell two hosts apart. Every loop is bounded in
count and time; the ports are free ones, so the tests run side by side under xdist.
About 15 s each once the session's model is trained.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import threading
import time
import urllib.request
from contextlib import closing

import pytest
from slow_clients import (
    endpoint_in_front_of,
    idle_connections,
    predict_seconds,
    running,
    service_env,
    trickle,
    trickled_bodies,
)

from pipeline.environments import processes
from pipeline.environments.load_balancer import (
    CLIENT_CONNECTIONS,
    CLIENT_LARGE_BYTES_PER_10S,
    REQUEST_DEADLINE_S,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("haproxy", path="/usr/sbin:/usr/bin") is None,
        reason="NOT TESTED: haproxy is not installed (apt-get install haproxy)",
    ),
]


@pytest.fixture
def release(trained_dir, tmp_path):
    """(port) of the service as it ships, 2 workers of 4 threads."""
    port = processes.free_port()
    env = service_env(trained_dir, SERVE_WORKERS="2", SERVE_ACCESSLOG="off")
    with running(processes.serve_command(f"127.0.0.1:{port}"), env, tmp_path / "serve.log", port):
        yield port


@pytest.fixture
def endpoint(release, tmp_path):
    with endpoint_in_front_of(release, tmp_path / "endpoint") as balancer:
        yield balancer


def predict_timings(url: str, seconds: float) -> list[float]:
    """Normal /predict, one after another every 0.1 s for `seconds`; each one's seconds (10 s if it failed)."""
    timings = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            timings.append(predict_seconds(url))
        except OSError:
            timings.append(10.0)
        time.sleep(0.1)
    return timings


def request_seconds_buckets(port: int) -> dict[str, float]:
    """sentiment_request_seconds_bucket of POST /predict 200, by `le`, from the release's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:  # nosec B310 - loopback
        page = resp.read().decode()
    buckets = {}
    for line in page.splitlines():
        if line.startswith("sentiment_request_seconds_bucket{") and 'route="/predict"' in line and '"200"' in line:
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[le] = float(line.rsplit(" ", 1)[1])
    return buckets


def test_the_time_a_client_takes_to_upload_is_not_counted_as_request_time(release):
    """Straight to the service: a body whose last bytes come 2 s late is one fast /predict in the histogram
    that releases are judged on and the latency alert reads (it used to be a 2 s one, in +Inf)."""
    before = request_seconds_buckets(release)
    body = json.dumps({"text": "a warm and funny film"}).encode()
    with closing(http_connection(release)) as conn:
        conn.putrequest("POST", "/predict")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body[:10])
        time.sleep(2)
        conn.send(body[10:])
        assert conn.getresponse().status == 200
    after = request_seconds_buckets(release)
    assert after["+Inf"] - before.get("+Inf", 0) == 1
    assert after["0.5"] - before.get("0.5", 0) == 1, after


def http_connection(port: int, source: str = "127.0.0.1") -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))


def test_trickled_bodies_and_thousands_of_idle_connections_leave_predict_answering(endpoint):
    """12 clients each send half of a 200 KB body and then a byte a second; one client opens 4,200 idle
    connections. Normal /predict from another client keeps answering within 1 s (with a 16 KB proxy
    buffer the bodies reached the service and held its threads; 4,200 connections took every one of
    the proxy's 4,096), and the trickled requests are answered 408 at the request deadline."""
    port = endpoint.port
    opened = time.monotonic()
    trickling = trickled_bodies(port, 12, source="127.0.0.2")
    idle = idle_connections(port, 4_200, source="127.0.0.3")
    stop = threading.Event()

    def keep_trickling() -> None:
        while not stop.wait(1.0) and time.monotonic() < opened + 30:
            trickle(trickling)

    trickler = threading.Thread(target=keep_trickling, daemon=True)
    trickler.start()
    try:
        timings = predict_timings(endpoint.url, REQUEST_DEADLINE_S + 1)
    finally:
        stop.set()
        trickler.join(5)
    print(f"\n/predict under 12 trickled bodies and {len(idle)} idle connections: max {max(timings):.3f} s")
    assert len(timings) > 10 and max(timings) < 1.0, timings
    for number, sock in enumerate(trickling):
        sock.settimeout(max(0.1, opened + REQUEST_DEADLINE_S + 5 - time.monotonic()))
        answer = sock.recv(4096)
        assert answer.split(b"\r\n", 1)[0].split()[1:2] == [b"408"], (number, answer[:100])
    for sock in trickling + idle:
        sock.close()


# Random bytes to letters, one in six to a space: words of about five random letters.
TO_WORDS = bytes(ord(" ") if i % 6 == 0 else ord("a") + i % 26 for i in range(256))


def random_words(chars: int) -> str:
    """Random letters in words of about five: none in the token cache, the costliest text per character
    (about 2 microseconds of CPU each, docs/security.md)."""
    return os.urandom(chars).translate(TO_WORDS).decode()


def test_one_client_sending_the_costliest_requests_is_held_to_its_byte_budget(endpoint):
    """8 connections from one client send the costliest batches the service accepts (100,000 characters
    of random words, about 200 ms of CPU each), back to back for 8 s: past 2 at once, or its large-request
    bytes per 10 s, the proxy answers it 429, and normal /predict from another client keeps answering
    within 1 s (before: no refusal, 8 of them held all 8 of the service's threads, p90 3.7 s)."""
    statuses: list[int] = []
    stop = threading.Event()

    def attack() -> None:
        conn = http_connection(endpoint.port, source="127.0.0.4")
        while not stop.is_set():
            body = json.dumps({"texts": [random_words(9_990) for _ in range(10)]})
            try:
                conn.request("POST", "/predict", body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                statuses.append(resp.status)
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
            except OSError:
                conn.close()
                statuses.append(0)

    attackers = [threading.Thread(target=attack, daemon=True) for _ in range(8)]
    for thread in attackers:
        thread.start()
    try:
        time.sleep(1)
        timings = predict_timings(endpoint.url, 8)
    finally:
        stop.set()
        for thread in attackers:
            thread.join(15)
    timings.sort()
    p90 = timings[int(len(timings) * 0.9)]
    print(
        f"\ncostliest requests from one client: {statuses.count(200)} answered, {statuses.count(429)} refused 429; "
        f"/predict from another client p90 {p90:.3f} s, max {timings[-1]:.3f} s"
    )
    assert statuses.count(200) <= 2 * CLIENT_LARGE_BYTES_PER_10S // 100_000 and statuses.count(429) > 0, statuses
    assert p90 < 1.0, timings


def test_one_client_gets_at_most_its_share_of_connections(endpoint):
    """Past CLIENT_CONNECTIONS open connections, a client's next ones are closed at once; another client's are not."""
    held = idle_connections(endpoint.port, CLIENT_CONNECTIONS + 20, source="127.0.0.5")
    time.sleep(1)
    closed = 0
    for sock in held:
        sock.setblocking(False)
        try:
            closed += sock.recv(1) == b""
        except BlockingIOError:
            pass  # still open
        except ConnectionResetError:
            closed += 1
        sock.close()
    assert closed >= 20, closed
    assert predict_seconds(endpoint.url) < 1.0
