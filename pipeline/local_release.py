"""Run a release on this machine (PROJECT_ENV=local), where the emulated EC2 instance never boots.

Blue/green on loopback ports: the new release starts on a free port, must answer
/ready, and only then is the previous one stopped. A release that fails to start is
killed and the previous one keeps serving. State: artifacts/local_release/current.json.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from pipeline import processes
from pipeline.cli import StageError

HOST = processes.LOOPBACK
READY_TIMEOUT_S = 60


def _state_dir(artifacts_dir: Path) -> Path:
    return artifacts_dir / "local_release"


def current(artifacts_dir: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((_state_dir(artifacts_dir) / "current.json").read_text())
    except (OSError, ValueError):
        return None
    return state if processes.alive(state["pid"]) else None


def _last_error(log: Path) -> str:
    lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()] if log.exists() else []
    errors = [ln for ln in lines if "cannot start" in ln or "Error" in ln]
    return (errors or lines or ["no output"])[-1]


def start(artifacts_dir: Path, release: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Start `release` under gunicorn, wait for /ready, then stop the previous release."""
    state_dir = _state_dir(artifacts_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    previous = current(artifacts_dir)
    port = processes.free_port()
    url = f"http://{HOST}:{port}"
    log = state_dir / f"service-{port}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            processes.gunicorn_command(f"{HOST}:{port}"),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not processes.http_ok(f"{url}/ready"):
        if proc.poll() is not None or time.monotonic() > deadline:
            processes.stop_group(proc.pid)
            keep = f"; {previous['url']} still serves {previous['release']['model_version']}" if previous else ""
            raise StageError(f"the release did not become ready: {_last_error(log)}{keep}")
        time.sleep(0.2)
    state = {"pid": proc.pid, "port": port, "url": url, "log": str(log), "release": release}
    (state_dir / "current.json").write_text(json.dumps(state, indent=2))
    if previous is not None:
        processes.stop_group(previous["pid"])
    return state


def stop(artifacts_dir: Path) -> bool:
    running = current(artifacts_dir)
    if running is None:
        return False
    processes.stop_group(running["pid"])
    (_state_dir(artifacts_dir) / "current.json").unlink(missing_ok=True)
    return True
