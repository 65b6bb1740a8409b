"""A release's /metrics is read under a total deadline: an answer that trickles does not hang the judge."""

import socket
import threading
import time

import pytest

from pipeline.live_metrics import windows


@pytest.fixture
def trickling():
    """A loopback server that sends a /metrics answer one byte every 2 s, until the client goes."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        server.settimeout(0.5)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                body = b"# TYPE sentiment_requests_total counter\nsentiment_requests_total 1\n" * 10
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
                    for byte in body:
                        if stop.wait(2):
                            return
                        conn.sendall(bytes([byte]))
                except OSError:
                    continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    server.close()


def test_a_trickling_metrics_answer_fails_at_the_total_deadline(trickling, monkeypatch):
    monkeypatch.setattr(windows, "DEADLINE_S", 3.0, raising=False)
    outcome = []

    def scrape():
        try:
            outcome.append(windows.snapshot(trickling))
        except OSError as exc:
            outcome.append(exc)

    started = time.monotonic()
    reader = threading.Thread(target=scrape, daemon=True)
    reader.start()
    reader.join(20)  # the old per-read timeout let this run for 670 bytes x 2 s
    assert not reader.is_alive(), "the scrape is still reading after 20 s"
    assert time.monotonic() - started < 10
    assert isinstance(outcome[0], OSError) and "no complete answer within 3 s" in str(outcome[0])
