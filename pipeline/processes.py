"""Background processes the local environment starts (emulator, local releases) and loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def gunicorn_command(bind: str, app: str = "sentiment.app:api") -> list[str]:
    """gunicorn with the repo's config, as every local release, benchmark and test starts it."""
    return [sys.executable, "-m", "gunicorn", "-c", "python:sentiment.gunicorn_conf", "--bind", bind, app]


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True if GET url answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310  # nosec B310 - loopback http only
            return resp.status == 200
    except OSError:
        return False


def alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return True


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
