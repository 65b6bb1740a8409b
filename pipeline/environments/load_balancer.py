"""The local stable endpoint: HAProxy on a fixed loopback port in front of the local releases.

Why HAProxy (Debian's 2.6): its runtime API (a unix socket) changes a server's address,
weight and state without a reload, so a release is switched, drained and stopped while the
endpoint keeps its port and its open connections; and it buffers each request whole
(`option http-buffer-request`, in a buffer that holds the largest body the service accepts)
under a deadline (`timeout http-request`, headers and body) before a worker sees it, so clients
that send headers or bodies slowly tie up HAProxy's cheap connections, not the service's worker
threads, and the service never times an upload. Per client address (a stick table) it limits
open connections and request bytes per 10 s (docs/security.md says how they were sized).

Two server slots, `a` and `b`, take turns: a new release goes into the idle slot, gets all
the weight once it answers /ready, and the old slot drains before its release is stopped.
Errors HAProxy answers itself (400, 408, 413, 502, 503, 504...) are JSON like the service's.
/metrics is not served on the public endpoint (Prometheus scrapes the releases directly).
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.environments import processes
from pipeline.errors import StageError
from sentiment.limits import MAX_BODY_BYTES

HOST = processes.LOOPBACK
READY_TIMEOUT_S = 10
BACKEND = "releases"
SLOTS = ("a", "b")
# How long a client may take to send a whole request (headers and body) before HAProxy answers 408:
# the largest body the service accepts (1 MB) then needs 200 KB/s.
REQUEST_DEADLINE_S = 5
# A request is held whole before it goes on: the buffer takes the largest accepted body and a head
# (Granian refuses heads over 32-64 KiB). A larger body is refused here with 413.
REQUEST_BUFFER_BYTES = MAX_BODY_BYTES + 64 * 1024
# Per client address (sized in docs/security.md, "Per-client limits"): open connections (more are
# closed at once); of its large requests (bodies over LARGE_BODY_BYTES, what costs the service CPU)
# at most CLIENT_LARGE_REQUESTS at once and CLIENT_LARGE_BYTES_PER_10S in any 10 s, past which its
# large requests are answered 429 (small ones still pass).
CLIENT_CONNECTIONS = 64
LARGE_BODY_BYTES = 8 * 1024
CLIENT_LARGE_REQUESTS = 2
CLIENT_LARGE_BYTES_PER_10S = 1_000_000
LARGE_BODIES_TABLE = "large_bodies"
ERRORS = {
    400: "Bad Request",
    403: "Forbidden",
    408: "Request Timeout",
    413: "Content Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def error_file(status: int, title: str) -> str:
    """A complete HTTP response, as HAProxy's `errorfile` wants it, with the service's JSON error body."""
    body = json.dumps({"error": {"status": status, "title": title, "description": f"{title} (load balancer)"}})
    return (
        f"HTTP/1.0 {status} {title}\r\nCache-Control: no-cache\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}"
    )


def client_limits() -> str:
    """The frontend lines that bound what one client address may hold and send (the instance's are the same)."""
    return f"""    stick-table type ip size 100k expire 30s store conn_cur
    tcp-request connection track-sc0 src
    tcp-request connection reject if {{ sc_conn_cur(0) gt {CLIENT_CONNECTIONS} }}
    # The body is whole here (http-buffer-request): a chunked one that filled the buffer is too large.
    http-request deny deny_status 413 if {{ req.body_size gt {MAX_BODY_BYTES} }}
    http-request track-sc1 src table {LARGE_BODIES_TABLE} if {{ req.body_size gt {LARGE_BODY_BYTES} }}
    http-request deny deny_status 429 if {{ sc_conn_cur(1) gt {CLIENT_LARGE_REQUESTS} }}
    http-request deny deny_status 429 if {{ sc_bytes_in_rate(1) gt {CLIENT_LARGE_BYTES_PER_10S} }}"""


# HAProxy 2.6 binds its admin socket under a longer temporary name first: it takes paths of at most 97 bytes.
MAX_ADMIN_SOCKET_BYTES = 97


def check_admin_socket(path: Path) -> None:
    """Refuse, in one line, a socket path HAProxy would refuse in its log (a deep ARTIFACTS_DIR)."""
    size = len(str(path).encode())
    if size > MAX_ADMIN_SOCKET_BYTES:
        raise StageError(
            f"the load balancer's admin socket {path} is a {size}-byte path, and HAProxy takes at most "
            f"{MAX_ADMIN_SOCKET_BYTES}: set a shorter ARTIFACTS_DIR",
            exit_code=2,
        )


def config(port: int, admin_socket: Path, errors_dir: Path) -> str:
    errorfiles = "\n".join(f"    errorfile {status} {errors_dir / f'{status}.http'}" for status in ERRORS)
    servers = "\n".join(f"    server {slot} {HOST}:1 disabled check inter 1s fall 2 rise 1 weight 0" for slot in SLOTS)
    return f"""global
    stats socket {admin_socket} mode 600 level admin
    maxconn 4096
    tune.bufsize {REQUEST_BUFFER_BYTES}
    tune.maxrewrite 1024

defaults
    mode http
    option http-buffer-request
    timeout http-request {REQUEST_DEADLINE_S}s
    timeout client 30s
    timeout connect 2s
    timeout server 30s
    timeout http-keep-alive 5s
    option forwardfor
{errorfiles}

frontend endpoint
    bind {HOST}:{port}
{client_limits()}
    # Decoded and with repeated slashes, as the service will route it: /%6Detrics and //metrics are /metrics.
    http-request deny deny_status 403 if {{ path,url_dec -m reg ^/+metrics }}
    default_backend {BACKEND}

backend {LARGE_BODIES_TABLE}
    stick-table type ip size 100k expire 30s store conn_cur,bytes_in_rate(10s)

backend {BACKEND}
    balance roundrobin
    option httpchk GET /ready
{servers}
"""


@dataclass(frozen=True)
class Slot:
    name: str
    port: int  # where its release listens; 1 = empty
    weight: int
    state: str  # HAProxy's operational state: UP, DOWN, MAINT, DRAIN, ...
    sessions: int
    requests: int = 0  # answers HAProxy got from the server (hrsp_*) and requests it failed (eresp, econ)
    errors_5xx: int = 0  # hrsp_5xx + eresp + econ
    response_ms: float | None = None  # rtime: mean response time of the server's last 1024 answers


def _count(row: dict[str, str], *fields: str) -> int:
    return sum(int(row.get(name) or 0) for name in fields)


class LoadBalancer:
    """One HAProxy, recorded in <state_dir>/state.json, driven through its admin socket."""

    def __init__(self, state_dir: Path, port: int) -> None:
        self.state_dir = state_dir
        self.port = port
        self.admin_socket = state_dir / "admin.sock"
        self.state = processes.StateFile(state_dir / "state.json")

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def running(self) -> processes.Recorded | None:
        return self.state.running(lambda r: self.admin_socket.exists())

    def up(self) -> None:
        if self.running() is not None:
            return
        server = shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin:/usr/bin:/usr/local/bin")
        if server is None:
            raise StageError("haproxy not found: install Debian's `haproxy` package", exit_code=2)
        if not processes.port_is_free(self.port):
            raise StageError(f"the endpoint port {self.port} is taken: set LOCAL_ENDPOINT_PORT", exit_code=2)
        check_admin_socket(self.admin_socket.resolve())
        errors_dir = self.state_dir / "errors"
        errors_dir.mkdir(parents=True, exist_ok=True)
        for status, title in ERRORS.items():
            (errors_dir / f"{status}.http").write_text(error_file(status, title))
        self.admin_socket.unlink(missing_ok=True)
        config_file = self.state_dir / "haproxy.cfg"
        config_file.write_text(config(self.port, self.admin_socket.resolve(), errors_dir.resolve()))
        log_path = self.state_dir / "haproxy.log"
        try:
            # -db: stay in the foreground, so the recorded pid is HAProxy itself.
            self.state.start(
                [server, "-db", "-f", str(config_file)], self.port, log_path, self._answers, READY_TIMEOUT_S
            )
        except processes.NotReady:
            raise StageError(f"the load balancer did not start on port {self.port}; see {log_path}", 2) from None

    def _answers(self) -> bool:
        try:
            self.command("show info")
        except OSError:
            return False
        return True

    def down(self) -> bool:
        recorded = self.state.read()
        if recorded is None:
            return False
        recorded.stop(grace_s=5)
        self.state.clear()
        return True

    def command(self, line: str) -> str:
        """One runtime API command over the admin socket; its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.admin_socket))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def slots(self) -> dict[str, Slot]:
        """Each slot's address, weight, state and open sessions, from `show stat`."""
        lines = self.command("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        slots = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == BACKEND and row.get("svname") in SLOTS:
                port = int(row["addr"].rpartition(":")[2]) if row.get("addr") else 1
                failed = _count(row, "eresp", "econ")
                answered = _count(row, "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other")
                slots[row["svname"]] = Slot(
                    row["svname"], port, int(row["weight"] or 0), row["status"], int(row["scur"]),
                    answered + failed, _count(row, "hrsp_5xx") + failed,
                    float(row["rtime"]) if row.get("rtime") else None,
                )  # fmt: skip
        return slots

    def serving(self) -> Slot | None:
        """The slot that takes the traffic, if any."""
        live = [s for s in self.slots().values() if s.weight > 0 and s.state.startswith("UP")]
        return live[0] if live else None

    def switch_to(self, port: int, drain_s: float = 10.0) -> None:
        """Send all new requests to the release on `port`; let the other slot finish what it has, then park it."""
        current = self.serving()
        slot = self.stage(port)
        self.set_weights({slot: 100})
        if current is not None:
            self.set_weights({current.name: 0})
            self.park(current.name, drain_s)

    def stage(self, port: int) -> str:
        """Put the release on `port` into the slot that serves nothing, UP but with weight 0; its slot name."""
        current = self.serving()
        slot = next(s for s in SLOTS if current is None or s != current.name)
        self._checked(f"set weight {BACKEND}/{slot} 0")
        self._checked(f"set server {BACKEND}/{slot} addr {HOST} port {port}")
        self._checked(f"set server {BACKEND}/{slot} state ready")
        self._wait(lambda: self.slots()[slot].state.startswith("UP"), 10, f"the release on port {port} never came UP")
        return slot

    def set_weights(self, weights: dict[str, int]) -> None:
        """Runtime `set weight` per slot (0-256, relative; 0 = no new requests): no reload, connections kept."""
        for slot, weight in weights.items():
            self._checked(f"set weight {BACKEND}/{slot} {weight}")

    def park(self, slot: str, drain_s: float = 10.0) -> None:
        """Drain a slot (no new requests; open ones finish, up to drain_s), then put it in maintenance."""
        self._checked(f"set server {BACKEND}/{slot} state drain")
        self._wait(lambda: self.slots()[slot].sessions == 0, drain_s, None)
        self._checked(f"set server {BACKEND}/{slot} state maint")

    def _checked(self, line: str) -> None:
        answer = self.command(line).strip()
        if answer and not answer.startswith(("IP changed", "no need to change")):
            raise StageError(f"load balancer: `{line}` answered: {answer}")

    @staticmethod
    def _wait(condition: object, seconds: float, failure: str | None) -> None:
        deadline = time.monotonic() + seconds
        while not condition():  # type: ignore[operator]
            if time.monotonic() > deadline:
                if failure:
                    raise StageError(f"load balancer: {failure}")
                return
            time.sleep(0.1)
