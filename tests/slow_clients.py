"""Shared by the slow-client tests: the service started from a trained artifact, the attack, and a timed /predict.

The attack is 50 connections holding half-sent headers and 50 holding half-sent bodies; whatever is in
front of the service has to keep answering normal requests fast and close these at its deadline.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.environments import processes
from pipeline.environments.load_balancer import LoadBalancer

HALF_HEADERS = b"POST /predict HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
HALF_BODY = (
    b'POST /predict HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"text": "'
)


def service_env(trained_dir: Path, **settings: str) -> dict[str, str]:
    """The caller's environment without MODEL_*/SERVE_*/GUNICORN_* (a Jenkins parameter once leaked
    MODEL_VERSION here and won over MODEL_DIR), serving trained_dir with these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "SERVE_", "GUNICORN_"))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # each server makes a fresh one
    return {**env, "MODEL_DIR": str(trained_dir), **settings}


@contextmanager
def running(command: list[str], env: dict[str, str], log: Path, port: int) -> Iterator[tuple[int, int]]:
    """(master pid, port) of a server started with `command`, once it answers /ready; stopped after."""
    proc = processes.start_until_ready(
        command, log, lambda: processes.http_ok(f"http://127.0.0.1:{port}/ready"), timeout_s=60, env=env
    )
    try:
        yield proc.pid, port
    finally:
        processes.stop_group(proc.pid)


def open_slow_clients(port: int, count: int = 100) -> list[socket.socket]:
    """`count` connections to port, odd ones holding half-sent headers, even ones half-sent bodies, each from
    its own loopback address (127.0.1.N: that many clients, not one holding more than its share of connections)."""
    slow = [socket.create_connection(("127.0.0.1", port), source_address=(f"127.0.1.{n + 1}", 0)) for n in range(count)]
    for number, sock in enumerate(slow):
        sock.sendall(HALF_HEADERS if number % 2 else HALF_BODY)
    return slow


def predict_seconds(url: str) -> float:
    """Seconds one normal /predict takes through url (which must answer 200 with a label)."""
    request = urllib.request.Request(
        f"{url}/predict", data=b'{"text": "a warm and funny film"}', headers={"Content-Type": "application/json"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=10) as resp:  # nosec B310 - loopback http only
        assert resp.status == 200 and json.loads(resp.read())["label"] in ("positive", "negative")
    return time.perf_counter() - started


def trickled_bodies(port: int, count: int, source: str, body_bytes: int = 200_000) -> list[socket.socket]:
    """`count` connections from `source` that send the head and half of a `body_bytes` JSON body at once;
    `trickle` then sends them a byte each now and then (the rest never comes)."""
    head = (
        f"POST /predict HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: {body_bytes}\r\n\r\n"
    ).encode()
    half = b'{"text": "' + b"a" * (body_bytes // 2 - 10)
    opened = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
        sock.sendall(head + half)
        opened.append(sock)
    return opened


def trickle(sockets: list[socket.socket]) -> None:
    """One more body byte on each connection that is still open."""
    for sock in sockets:
        with contextlib.suppress(OSError):  # answered (408) and closed: what the proxy should do
            sock.sendall(b"a")


def idle_connections(port: int, count: int, source: str) -> list[socket.socket]:
    """Up to `count` connections from `source` that send nothing (those the proxy refuses are closed by it)."""
    opened = []
    for _ in range(count):
        with contextlib.suppress(OSError):  # a full accept queue: what this client does not get, it does not hold
            opened.append(socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0)))
    return opened


def upload_slowly(port: int, source: str, statuses: list[int]) -> None:
    """The issue's reproduction: a 17 KB /predict body whose last 100 bytes arrive 3 s late; its status is appended."""
    body = json.dumps({"texts": ["a slow upload of a long review " * 270] * 2}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        conn.putrequest("POST", "/predict")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body[:-100])
        time.sleep(3)
        conn.send(body[-100:])
        response = conn.getresponse()
        response.read()
        statuses.append(response.status)
    except OSError:
        statuses.append(0)
    finally:
        conn.close()


@contextmanager
def slow_uploads(port: int, source: str = "127.0.0.6", every_s: float = 0.5) -> Iterator[list[int]]:
    """`upload_slowly` started every `every_s` seconds while the block runs; the statuses they got."""
    statuses: list[int] = []
    stop = threading.Event()
    uploads: list[threading.Thread] = []

    def start_them() -> None:
        while not stop.wait(every_s) and len(uploads) < 600:
            upload = threading.Thread(target=upload_slowly, args=(port, source, statuses), daemon=True)
            upload.start()
            uploads.append(upload)

    starter = threading.Thread(target=start_them, daemon=True)
    starter.start()
    try:
        yield statuses
    finally:
        stop.set()
        starter.join(5)
        for upload in uploads:
            upload.join(35)


@contextmanager
def endpoint_in_front_of(release_port: int, state_dir: Path) -> Iterator[LoadBalancer]:
    """The local endpoint (HAProxy on a free port) sending everything to the release on `release_port`."""
    balancer = LoadBalancer(state_dir, processes.free_port())
    balancer.state_dir.mkdir()
    balancer.up()
    try:
        balancer.switch_to(release_port)
        yield balancer
    finally:
        balancer.down()
