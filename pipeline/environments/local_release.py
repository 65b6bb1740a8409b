"""Run a release on this machine (the `local` environment), where the emulated EC2 instance never boots.

Blue/green on loopback ports: the new release starts on a free port, must answer
/ready, then traffic is switched to it (the caller's `switch`, the load balancer), and only
then is the previous one stopped. A release that fails to start or to take the traffic is
killed and the previous one keeps serving. The release runs as its image in the container
engine when the build stage made one, else `python -m sentiment serve` from this checkout.

State, in <state_dir>: current.json (the release that serves), candidate.json (a release started but
not yet switched to: only while a switch, which may be a progressive rollout, runs; left behind by a
deploy that was killed, so that the next one can stop it) and parked.json (the previous release).

The state fails closed: a deploy stops, in one line naming the file and the way out, when a state
file is unreadable or when a release of this state directory runs that no state file records (each
release's environment carries the state directory, RELEASE_STATE_DIR, so it can be found without its
record). `stop` stops those too.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.environments import processes
from pipeline.environments.container_engine import ENGINES, Engine
from pipeline.errors import StageError

HOST = processes.LOOPBACK
READY_TIMEOUT_S = 60
# What a release container gets from the deploying process's environment (by name only).
CONTAINER_ENV = (
    "MODEL_VERSION", "MODEL_BUCKET_NAME", "IMAGE_REF", "GIT_SHA", "SERVE_WORKERS", "SERVE_THREADS", "SERVE_BIND",
    "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
    "MODEL_SIGNING_PUBLIC_KEY",
)  # fmt: skip


RELEASE_STATE_DIR = "RELEASE_STATE_DIR"  # in every local release's environment: the state dir that owns it
RECOVER = "run `python -m pipeline.deploy --stop-local` (it stops every release of this checkout, recorded or not)"


def _state(state_dir: Path) -> processes.StateFile:
    return processes.StateFile(state_dir / "current.json")


def _candidate_state(state_dir: Path) -> processes.StateFile:
    """A started release that does not have the traffic yet; current.json names the champion until it has."""
    return processes.StateFile(state_dir / "candidate.json")


def _parked_state(state_dir: Path) -> processes.StateFile:
    """The previous release, kept running without traffic after a switch until the new one is promoted."""
    return processes.StateFile(state_dir / "parked.json")


def _files(state_dir: Path) -> list[processes.StateFile]:
    return [_state(state_dir), _candidate_state(state_dir), _parked_state(state_dir)]


def check_state(state_dir: Path) -> None:
    """Every state file readable and consistent, and no release of this state dir running unrecorded;
    else a StageError (exit 2) in one line saying which file or process, and how to recover."""
    recorded = []
    for state in _files(state_dir):
        try:
            found = state.checked("url", "release")
        except processes.StateFileError as exc:
            raise StageError(f"{exc}: the release it records may still run; {RECOVER}, then deploy again", 2) from None
        if found is not None:
            recorded.append((state.path, found))
    pids = [r.pid for _, r in recorded]
    if len(set(pids)) != len(pids):
        files = ", ".join(str(path) for path, _ in recorded)
        raise StageError(f"{files} record the same process twice: the state is inconsistent; {RECOVER}", 2)
    strays = unrecorded(state_dir)
    if strays:
        raise StageError(f"{describe(strays)} run(s) but no state file in {state_dir} records it; {RECOVER}", 2)


def describe(releases: list[processes.Recorded]) -> str:
    return ", ".join(f"a release at {r.details['url']} (pid {r.pid})" for r in releases)


def _argument(command: list[str], flag: str) -> str | None:
    return command[command.index(flag) + 1] if flag in command[:-1] else None


def unrecorded(state_dir: Path) -> list[processes.Recorded]:
    """Releases started for this state dir (by their environment) that no readable state file records."""
    marker = f"{RELEASE_STATE_DIR}={state_dir.resolve()}".encode()
    known = {r.pid for r in (state.read() for state in _files(state_dir)) if r is not None and r.is_ours}
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in known:
            continue
        pid = int(entry.name)
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            if marker not in environ or os.getsid(pid) != pid:
                continue  # another checkout's, or a worker of a release (the session leader is the release)
            command = [a.decode(errors="replace") for a in (entry / "cmdline").read_bytes().split(b"\0") if a]
        except OSError:
            continue
        # A process release has --bind on its command line; a container's engine CLI has SERVE_BIND in its environment.
        served = next((v.partition(b"=")[2].decode() for v in environ if v.startswith(b"SERVE_BIND=")), "")
        bind = _argument(command, "--bind") or served
        container = _argument(command, "--name") if command and Path(command[0]).name in ENGINES else None
        port = int(bind.rpartition(":")[2]) if bind.rpartition(":")[2].isdigit() else 0
        details = {"url": f"http://{HOST}:{port}", "container": container, "engine": command[0] if container else None}
        found.append(processes.Recorded(pid, processes.start_time(pid) or 0, port, "", details))
    return found


def current(state_dir: Path) -> processes.Recorded | None:
    """The recorded release, if its process still runs."""
    return _state(state_dir).running()


def _last_error(log: Path) -> str:
    lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()] if log.exists() else []
    errors = [ln for ln in lines if "cannot start" in ln or "Error" in ln]
    return (errors or lines or ["no output"])[-1]


def start(
    state_dir: Path,
    release: dict[str, Any],
    env: dict[str, str],
    engine: Engine | None,
    switch: Callable[[int], None] = lambda port: None,
    keep_previous: bool = False,
) -> processes.Recorded:
    """Start `release` (in `engine`, else from this checkout), wait for /ready, switch the traffic to its
    port, then stop the previous release (or, with keep_previous, park it: running, no traffic, for a
    rollback in seconds until `retire_parked`)."""
    state, candidate = _state(state_dir), _candidate_state(state_dir)
    recorded = state.read()
    previous = recorded if recorded is not None and recorded.is_ours else None
    port = processes.free_port()
    url = f"http://{HOST}:{port}"
    log = state_dir / f"service-{port}.log"
    container = None
    env = {**env, RELEASE_STATE_DIR: str(state_dir.resolve())}
    if engine:
        container = f"sentiment-{port}"
        env = {**env, "SERVE_BIND": f"{HOST}:{port}"}
        command = engine.run_command(release["image"], container, list(CONTAINER_ENV), insecure=True)
    else:
        command = processes.serve_command(f"{HOST}:{port}")
    runner = {"container": container, "engine": engine.path if engine else None}
    try:
        started = candidate.start(
            command,
            port,
            log,
            lambda: processes.http_ok(f"{url}/ready"),
            READY_TIMEOUT_S,
            env=env,
            on_failure=lambda pid: _stop(pid, container, engine),
            details={"url": url, "release": release, **runner},
        )
    except processes.NotReady:
        keep = (
            f"; {previous.details['url']} still serves {previous.details['release']['model_version']}"
            if previous
            else ""
        )
        raise StageError(f"the release did not become ready: {_last_error(log)}{keep}") from None
    try:
        switch(port)
    except BaseException:
        _retire(started)
        candidate.clear()
        raise
    state.write(started)
    candidate.clear()
    if recorded is not None:
        if keep_previous and recorded.is_ours:
            retire_parked(state_dir)
            _parked_state(state_dir).write(recorded)
        else:
            _retire(recorded)
    return started


def interrupted(state_dir: Path) -> processes.Recorded | None:
    """The candidate of a deploy that was killed before its switch ended (and so could not clean up)."""
    return _candidate_state(state_dir).read()


def retire_interrupted(state_dir: Path) -> bool:
    """Stop an interrupted deploy's candidate, if one is recorded; True if it was still running."""
    return _retire_recorded(_candidate_state(state_dir))


def parked(state_dir: Path) -> processes.Recorded | None:
    """The parked previous release, if its process still runs."""
    return _parked_state(state_dir).running()


def retire_parked(state_dir: Path) -> bool:
    """Stop the parked release, if any; True if one was running."""
    return _retire_recorded(_parked_state(state_dir))


def restore_parked(state_dir: Path, switch: Callable[[int], None]) -> processes.Recorded | None:
    """Switch the traffic back to the parked release and stop the current one; None if none is parked."""
    previous = parked(state_dir)
    if previous is None:
        return None
    state = _state(state_dir)
    current_release = state.read()
    switch(previous.port)
    state.write(previous)
    _parked_state(state_dir).clear()
    if current_release is not None:
        _retire(current_release)
    return previous


def _remove_container(container: str, engine_path: str) -> None:
    subprocess.run([engine_path, "rm", "--force", container], capture_output=True, check=False, timeout=60)


def _stop(pid: int, container: str | None, engine: Engine | None) -> None:
    processes.stop_group(pid)
    if container and engine:
        # The CLI forwards SIGTERM to the container; if the CLI had to be killed, the container may linger.
        _remove_container(container, engine.path)


def _retire(recorded: processes.Recorded) -> None:
    """Stop a recorded release. Its container outlives an engine CLI that was killed, so it is
    removed even when the recorded process is gone (a process that is not ours is never signalled)."""
    recorded.stop()
    if recorded.details.get("container") and recorded.details.get("engine"):
        _remove_container(recorded.details["container"], recorded.details["engine"])


def stop(state_dir: Path) -> list[processes.Recorded]:
    """Stop every release of this state dir: the recorded one, a parked one, an interrupted deploy's
    candidate, and any that runs unrecorded (a state file lost or unreadable); forget them all.
    The releases that were running."""
    strays = unrecorded(state_dir)
    stopped = [r for r in (s.read() for s in _files(state_dir)) if r is not None and r.is_ours]
    for state in _files(state_dir):
        _retire_recorded(state)
        state.clear()  # an unreadable one too: what it recorded is among the strays
    for stray in strays:
        _retire(stray)
    return stopped + strays


def _retire_recorded(state: processes.StateFile) -> bool:
    """Stop the release a state file records and forget it; True if it was still running."""
    recorded = state.read()
    if recorded is None:
        return False
    running = recorded.is_ours
    _retire(recorded)
    state.clear()
    return running
