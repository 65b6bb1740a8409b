"""Background processes the local environment starts (emulator, image registry, releases).

`start` launches a command in its own session, waits until it is ready and records it in
a state file; `running` and `stop` act only on the process that was recorded, identified by
pid AND start time: a pid from an old state file may belong to an unrelated process by now,
and signalling that process group would kill it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline import http_client
from pipeline.records import write_json_atomic

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def serve_command(bind: str, server: str | None = None) -> list[str]:
    """The service's start command, `python -m sentiment serve`, as local releases, benchmarks and tests run it.

    Without `server`, SERVE_SERVER or the default (Granian) decides; workers and threads come from
    SERVE_* / GUNICORN_* in the environment.
    """
    return [sys.executable, "-m", "sentiment", "serve", "--bind", bind, *(["--server", server] if server else [])]


def gunicorn_command(bind: str, app: str = "sentiment.wsgi:api") -> list[str]:
    """gunicorn with the repo's config, started directly (the supported alternative to `serve_command`)."""
    return [sys.executable, "-m", "gunicorn", "-c", "python:sentiment.gunicorn_conf", "--bind", bind, app]


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True if GET url answers 200 (one attempt)."""
    return http_client.ok(url, timeout)


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; the fields after its closing parenthesis do not.
    return raw[raw.rindex(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (with the pid, a unique identity), or None."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _stat(pid)
    return fields is None or fields[0] != "Z"


def stop_group(pid: int, grace_s: float = 10.0) -> None:
    """SIGTERM the process group led by pid (started with start_new_session), SIGKILL after the grace time."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while alive(pid):
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            return
        time.sleep(0.1)


class NotReady(Exception):
    """A background process died or missed its deadline before it was ready; it has been stopped."""


def start_until_ready(
    command: list[str],
    log_path: Path,
    ready: Callable[[], bool],
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    on_failure: Callable[[int], None] | None = None,
) -> subprocess.Popen:
    """Start `command` in its own session, output appended to log_path, and wait until ready().

    On death or timeout the process group is stopped (on_failure(pid) instead, if given)
    and NotReady is raised, so a failed start leaves nothing running.
    """
    with log_path.open("ab") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            (on_failure or stop_group)(proc.pid)
            raise NotReady(f"{command[0]} exited" if proc.poll() is not None else f"{command[0]} timed out")
        time.sleep(0.1)
    return proc


@dataclass(frozen=True)
class Recorded:
    """A background process as its state file records it."""

    pid: int
    started: int  # start time in clock ticks since boot: tells this process from a later one with its pid
    port: int
    log: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def is_ours(self) -> bool:
        """True while the recorded process itself still runs (not merely some process with its pid)."""
        return alive(self.pid) and start_time(self.pid) == self.started

    def stop(self, grace_s: float = 10.0) -> None:
        if self.is_ours:
            stop_group(self.pid, grace_s)


class StateFileError(Exception):
    """A state file exists but is no record: what it recorded may still run."""


class StateFile:
    """The JSON file in which the pipeline remembers one background process it started."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> Recorded | None:
        """The record, or None when there is none or it cannot be read (see `checked` to fail closed)."""
        try:
            return self.checked()
        except StateFileError:
            return None

    def checked(self, *required: str) -> Recorded | None:
        """The record, None when there is no file; StateFileError (one line) when the file is unreadable or
        is not a record with the `required` details."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise StateFileError(f"{self.path} cannot be read ({exc})") from None
        try:
            doc = json.loads(text)
            recorded = Recorded(**doc)
        except (ValueError, TypeError) as exc:
            raise StateFileError(f"{self.path} is not a process record ({type(exc).__name__})") from None
        numbers = (recorded.pid, recorded.started, recorded.port)
        if not all(type(n) is int and n >= 0 for n in numbers) or recorded.pid == 0:
            raise StateFileError(f"{self.path} records pid/start/port {numbers!r}, which are no process")
        missing = [name for name in required if not isinstance(recorded.details, dict) or name not in recorded.details]
        if missing:
            raise StateFileError(f"{self.path} is missing {', '.join(missing)}")
        return recorded

    def running(self, answers: Callable[[Recorded], bool] = lambda _: True) -> Recorded | None:
        """The recorded process, if it is still the one started and it answers."""
        recorded = self.read()
        return recorded if recorded is not None and recorded.is_ours and answers(recorded) else None

    def start(
        self,
        command: list[str],
        port: int,
        log_path: Path,
        ready: Callable[[], bool],
        timeout_s: float,
        env: Mapping[str, str] | None = None,
        on_failure: Callable[[int], None] | None = None,
        details: dict[str, Any] | None = None,
    ) -> Recorded:
        """Start, wait until ready (NotReady otherwise, nothing left running), then record."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        proc = start_until_ready(command, log_path, ready, timeout_s, env, on_failure)
        recorded = Recorded(proc.pid, start_time(proc.pid) or 0, port, str(log_path), details or {})
        self.write(recorded)
        return recorded

    def write(self, recorded: Recorded) -> None:
        write_json_atomic(self.path, asdict(recorded))

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
