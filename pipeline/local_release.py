"""Run a release on this machine (PROJECT_ENV=local), where the emulated EC2 instance never boots.

Blue/green on loopback ports: the new release starts on a free port, must answer
/ready, and only then is the previous one stopped. A release that fails to start is
killed and the previous one keeps serving. The release runs as its image in the container
engine when the build stage made one, else under gunicorn from this checkout.
State: artifacts/local_release/current.json.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from pipeline import processes
from pipeline.cli import StageError
from pipeline.container_engine import Engine

HOST = processes.LOOPBACK
READY_TIMEOUT_S = 60
# What a release container gets from the deploying process's environment (by name only).
CONTAINER_ENV = (
    "MODEL_VERSION", "MODEL_BUCKET_NAME", "IMAGE_REF", "GIT_SHA", "GUNICORN_WORKERS", "GUNICORN_BIND",
    "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
)  # fmt: skip


def _state_dir(artifacts_dir: Path) -> Path:
    return artifacts_dir / "local_release"


def _recorded(artifacts_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((_state_dir(artifacts_dir) / "current.json").read_text())
    except (OSError, ValueError):
        return None


def current(artifacts_dir: Path) -> dict[str, Any] | None:
    state = _recorded(artifacts_dir)
    return state if state is not None and processes.alive(state["pid"]) else None


def _last_error(log: Path) -> str:
    lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()] if log.exists() else []
    errors = [ln for ln in lines if "cannot start" in ln or "Error" in ln]
    return (errors or lines or ["no output"])[-1]


def start(artifacts_dir: Path, release: dict[str, Any], env: dict[str, str], engine: Engine | None) -> dict[str, Any]:
    """Start `release` (in `engine`, else under gunicorn), wait for /ready, then stop the previous release."""
    state_dir = _state_dir(artifacts_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    recorded = _recorded(artifacts_dir)
    previous = recorded if recorded is not None and processes.alive(recorded["pid"]) else None
    port = processes.free_port()
    url = f"http://{HOST}:{port}"
    log = state_dir / f"service-{port}.log"
    container = None
    if engine:
        container = f"sentiment-{port}"
        env = {**env, "GUNICORN_BIND": f"{HOST}:{port}"}
        command = engine.run_command(release["image"], container, list(CONTAINER_ENV), insecure=True)
    else:
        command = processes.gunicorn_command(f"{HOST}:{port}")
    try:
        proc = processes.start_until_ready(
            command,
            log,
            lambda: processes.http_ok(f"{url}/ready"),
            READY_TIMEOUT_S,
            env=env,
            on_failure=lambda pid: _stop(pid, container, engine),
        )
    except processes.NotReady:
        keep = f"; {previous['url']} still serves {previous['release']['model_version']}" if previous else ""
        raise StageError(f"the release did not become ready: {_last_error(log)}{keep}") from None
    runner = {"container": container, "engine": engine.path} if engine else {"container": None}
    state = {"pid": proc.pid, "port": port, "url": url, "log": str(log), "release": release, **runner}
    (state_dir / "current.json").write_text(json.dumps(state, indent=2))
    if recorded is not None:
        _retire(recorded)
    return state


def _remove_container(container: str, engine: Engine) -> None:
    subprocess.run([engine.path, "rm", "--force", container], capture_output=True, check=False, timeout=60)


def _stop(pid: int, container: str | None, engine: Engine | None) -> None:
    processes.stop_group(pid)
    if container and engine:
        # The CLI forwards SIGTERM to the container; if the CLI had to be killed, the container may linger.
        _remove_container(container, engine)


def _retire(state: dict[str, Any]) -> None:
    """Stop a recorded release. Its container outlives an engine CLI that was killed, so it is
    removed even when the recorded process is gone (a dead pid is not signalled: it may be reused)."""
    if processes.alive(state["pid"]):
        processes.stop_group(state["pid"])
    if state.get("container"):
        _remove_container(state["container"], Engine(Path(state["engine"]).name, state["engine"]))


def stop(artifacts_dir: Path) -> bool:
    """Stop the recorded release; True if it was running."""
    recorded = _recorded(artifacts_dir)
    if recorded is None:
        return False
    running = processes.alive(recorded["pid"])
    _retire(recorded)
    (_state_dir(artifacts_dir) / "current.json").unlink(missing_ok=True)
    return running
