"""The pipeline's HTTP client against a real server on loopback: urllib3's Retry waits out a service
that is still starting (503s, then 200) within the deadline, says so while it waits, and gives up at
the deadline; a refused connection is an OSError, never a traceback from the client library."""

import http.server
import threading
import time

import pytest

from pipeline import http_client
from pipeline.environments import processes
from pipeline.release import probe


class Starting(http.server.BaseHTTPRequestHandler):
    """Answers 503 to the first `unready` requests, then 200."""

    unready = 0
    seen = 0

    def do_GET(self) -> None:
        type(self).seen += 1
        status = 503 if type(self).seen <= type(self).unready else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def starting():
    def serve(unready: int) -> str:
        handler = type("Handler", (Starting,), {"unready": unready, "seen": 0})
        server = http.server.ThreadingHTTPServer((processes.LOOPBACK, 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://{processes.LOOPBACK}:{server.server_port}"

    servers = []
    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_waiting_for_health_retries_503_with_backoff_and_logs_each_pause(starting):
    url = starting(unready=3)
    said = []
    waited = probe.wait_healthy(url, deadline_s=30, log=said.append)
    assert waited is not None and 0 + 0.5 + 1.0 - 0.1 <= waited < 10
    assert said == [f"waiting for {url}/health (retry {n})" for n in (1, 2, 3)]


def test_waiting_for_health_gives_up_at_the_deadline(starting):
    url = starting(unready=10_000)
    started = time.monotonic()
    assert probe.wait_healthy(url, deadline_s=2, log=lambda _: None) is None
    assert time.monotonic() - started < 2 + 5


def test_a_refused_connection_is_retried_then_an_oserror():
    port = processes.free_port()
    started = time.monotonic()
    with pytest.raises(OSError, match=str(port)):
        http_client.fetch(f"http://{processes.LOOPBACK}:{port}/health", retry=http_client.patient(1.0))
    assert time.monotonic() - started >= 0 + 0.5 - 0.1
    assert probe.wait_healthy(f"http://{processes.LOOPBACK}:{port}", deadline_s=1, log=lambda _: None) is None


def test_the_backoff_fits_the_deadline():
    assert [http_client.pause_before(n) for n in range(1, 9)] == [0, 0.5, 1, 2, 4, 8, 15, 15]
    assert http_client.pauses_within(0.4) == 1
    assert http_client.pauses_within(0.5) == 2
    assert http_client.pauses_within(60) == 8  # 0 + 0.5 + 1 + 2 + 4 + 8 + 15 + 15 = 45.5 s; one more is 60.5
