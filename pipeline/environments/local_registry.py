"""The local image registry for the `local` environment: Debian's `docker-registry` on 127.0.0.1.

It stores under <state_dir>/data, so images survive a restart, and keeps its port across
restarts so recorded image references stay valid. The emulator's ECR holds no images (moto
does not speak the registry protocol), so `local` pushes here instead.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline import http_client
from pipeline.cli import StageError
from pipeline.environments import processes

HOST = processes.LOOPBACK
READY_TIMEOUT_S = 20
# A lookup rides out a registry that is restarting or briefly busy (about 4 s of backoff).
LOOKUP_RETRY = http_client.patient(4.0)
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


def address_of(recorded: processes.Recorded) -> str:
    return f"{HOST}:{recorded.port}"


def answers(address: str) -> bool:
    return processes.http_ok(f"http://{address}/v2/")


def _state(state_dir: Path) -> processes.StateFile:
    return processes.StateFile(state_dir / "state.json")


def status(state_dir: Path) -> processes.Recorded | None:
    return _state(state_dir).running(lambda r: answers(address_of(r)))


def up(state_dir: Path, port: int = 0) -> processes.Recorded:
    if (running := status(state_dir)) is not None:
        return running
    server = shutil.which("docker-registry")
    if server is None:
        raise StageError("docker-registry not found: install Debian's `docker-registry` package", exit_code=2)
    previous = _state(state_dir).read()
    if not port and previous and processes.port_is_free(previous.port):
        port = previous.port
    port = port or processes.free_port()
    state_dir.mkdir(parents=True, exist_ok=True)
    config = state_dir / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn, accesslog: {disabled: true}}\n"
        f"storage: {{filesystem: {{rootdirectory: {(state_dir / 'data').resolve()}}}}}\n"
        f"http: {{addr: '{HOST}:{port}'}}\n"
    )
    log_path = state_dir / "registry.log"
    try:
        return _state(state_dir).start(
            [server, "serve", str(config)], port, log_path, lambda: answers(f"{HOST}:{port}"), READY_TIMEOUT_S
        )
    except processes.NotReady:
        raise StageError(f"the local registry did not start on port {port}; see {log_path}", exit_code=2) from None


def down(state_dir: Path) -> bool:
    """Stop the registry `up` started here (its state file stays, so the port is kept)."""
    registry = status(state_dir)
    if registry is None:
        return False
    registry.stop(grace_s=5)
    return True


def digest(address: str, repository: str, tag: str) -> str | None:
    """The digest the local registry holds under repository:tag, or None."""
    url = f"http://{address}/v2/{repository}/manifests/{tag}"
    try:
        answer = http_client.fetch(url, method="HEAD", headers={"Accept": MANIFEST_TYPES}, retry=LOOKUP_RETRY)
    except http_client.HttpError as exc:
        raise StageError(f"local registry {address} is unreachable: {exc}") from exc
    if answer.status_code == 404:
        return None
    if answer.status_code != 200:
        raise StageError(f"local registry {address}: HTTP {answer.status_code} for {repository}:{tag}")
    return answer.headers.get("Docker-Content-Digest")
