"""gunicorn settings, chosen deliberately; those read with `_env` can be overridden by GUNICORN_<NAME>, and
those read with `_env_int` by SERVE_<NAME> or GUNICORN_<NAME>, as `python -m sentiment serve` reads them.

Threaded workers: each thread gets its own LiteRT interpreter (see sentiment.runtime).
No preload: the model loads in the workers, never in the master.
The default bind is loopback: a server started by hand is not reachable from the network;
the image sets GUNICORN_BIND=0.0.0.0:8000 because there the container's network is the boundary.
Every error gunicorn answers itself (request line or headers over the limits below, malformed
requests) is JSON like the application's own, through `JsonErrorWorker`.
"""

import html
import json
import multiprocessing
import os
import re
import shutil
import socket
import tempfile

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from sentiment.serve import SettingError, ensure_port_free, forget_worker, int_setting


def _env(name: str, default: str) -> str:
    return os.environ.get(f"GUNICORN_{name}", default)


def _env_int(name: str, default: int, low: int = 0) -> int:
    try:
        return int_setting(name, None, default, low)
    except SettingError as exc:
        # SystemExit, not ValueError: gunicorn prints a traceback for errors in its config file.
        raise SystemExit(f"sentiment: cannot start: {exc}") from None


class JsonErrorWorker(ThreadWorker):
    """gthread, with gunicorn's own error pages (414, 431, 400, 500...) as the API's JSON error body.

    gunicorn writes those pages itself, before or around the application, as HTML. Its status
    choice and message are kept: the page is written to a stand-in socket and rewritten as
    {"error": {"status", "title", "description"}}.
    """

    def handle_error(self, req: object, client: socket.socket, addr: tuple | None, exc: BaseException) -> None:
        page = _PageCapture(client)
        super().handle_error(req, page, addr, exc)
        try:
            util.write_nonblock(client, json_error_response(page.data))
        except Exception:  # the client may be gone; gunicorn's own handle_error allows the same
            self.log.debug("Failed to send error message.")


class _PageCapture:
    """Takes what gunicorn's write_error sends; anything else goes to the real socket."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0  # write_nonblock then leaves the real socket's blocking mode alone

    def sendall(self, data: bytes) -> None:
        self.data += data

    def __getattr__(self, name: str) -> object:
        return getattr(self._sock, name)


_PAGE_MESSAGE = re.compile(rb"</h1>(.*)</body>", re.S)


def json_error_response(page: bytes) -> bytes:
    """gunicorn's HTML error response rewritten with the same status and message as a JSON body."""
    status_line = page.split(b"\r\n", 1)[0].decode("latin-1")
    _, status, reason = [*status_line.split(" ", 2), "", ""][:3]
    found = _PAGE_MESSAGE.search(page)
    message = html.unescape(found.group(1).decode("latin-1")).strip() if found else ""
    code = int(status) if status.isdigit() else 500
    title = reason or "Error"
    description = message or ("internal error; see the service log" if code >= 500 else title)
    body = json.dumps({"error": {"status": code, "title": title, "description": description}}).encode()
    head = f"HTTP/1.1 {code} {title}\r\nConnection: close\r\nContent-Type: application/json\r\n"
    return head.encode("latin-1") + b"Content-Length: %d\r\n\r\n" % len(body) + body


bind = _env("BIND", "127.0.0.1:8000")
workers = _env_int("WORKERS", min(4, multiprocessing.cpu_count()), low=1)
worker_class = JsonErrorWorker
threads = _env_int("THREADS", 4, low=1)
# Connections per worker; past it a worker stops accepting and new ones wait in the backlog,
# so many idle keep-alive connections cannot take all of a worker's memory and file descriptors.
worker_connections = _env_int("WORKER_CONNECTIONS", 256, low=1)
timeout = _env_int("TIMEOUT", 30, low=1)  # a request never legitimately takes this long
graceful_timeout = _env_int("GRACEFUL_TIMEOUT", 20, low=1)
# Behind a load balancer this must exceed the balancer's idle timeout (an AWS ALB's is 60 s),
# or the server closes connections the balancer is about to reuse and clients see 502s.
keepalive = _env_int("KEEPALIVE", 5, low=0)
# Each worker listens on its own SO_REUSEPORT socket and the kernel spreads new connections
# over them. On one shared socket, whichever worker wakes first takes a burst of connections:
# a client (or load balancer) opening 32 keep-alive connections at once often landed all 32
# on one worker, halving throughput while the other idled.
reuse_port = True
preload_app = False
limit_request_line = 4096  # the API has short URLs; long ones are probes
limit_request_fields = 50  # a browser sends about 15 headers, a load balancer adds a few
limit_request_field_size = 8190  # one header, e.g. a cookie; all headers together are at most 50 of these
max_requests = _env_int("MAX_REQUESTS", 0)  # recycling is off: the service does not leak (see the soak test)
accesslog = _env("ACCESSLOG", "-") or None  # GUNICORN_ACCESSLOG= (empty) turns it off
errorlog = "-"
loglevel = _env("LOGLEVEL", "info")
# gunicorn's control socket is unused; its fixed path under $HOME would be shared by two
# releases running side by side and cannot be created on a read-only root filesystem.
control_socket_disable = True

# Workers are processes: prometheus_client's multiprocess mode keeps each worker's metrics in
# files here, and /metrics adds them up. Set before any worker imports prometheus_client;
# a fresh directory per server, so a restart does not inherit old counts. Made after the
# settings above, so a bad GUNICORN_* value stops the server without leaving a directory behind.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="sentiment-metrics-")


def on_starting(server) -> None:
    # `python -m sentiment serve` checks this before it starts gunicorn; here for gunicorn started directly.
    for address in server.cfg.address:
        if isinstance(address, tuple):
            try:
                ensure_port_free(f"{address[0]}:{address[1]}")
            except SettingError as exc:
                on_exit(server)
                raise SystemExit(f"sentiment: cannot start: {exc}") from None


def child_exit(server, worker) -> None:
    forget_worker(worker.pid)


def on_exit(server) -> None:
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
