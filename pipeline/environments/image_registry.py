"""The local image registry for the `local` environment: Debian's `docker-registry` on 127.0.0.1.

A LocalService (`python -m pipeline.local image-registry up|down|status`). It stores under
<state_dir>/data, so images survive a restart, and keeps its port across restarts so recorded
image references stay valid. The emulator's ECR holds no images (moto
does not speak the registry protocol), so `local` pushes here instead.
"""

from __future__ import annotations

from pathlib import Path

from pipeline import http_client
from pipeline.environments import processes
from pipeline.environments.local_service import HOST, LocalService, program
from pipeline.errors import StageError

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


class ImageRegistry(LocalService):
    title = "local image registry"
    ready_path = "/v2/"
    log_name = "registry.log"
    ready_timeout_s = 20
    keeps_port = True

    def command(self, state_dir: Path, port: int) -> list[str]:
        server = program("docker-registry", "install Debian's `docker-registry` package")
        config = state_dir / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log: {level: warn, accesslog: {disabled: true}}\n"
            f"storage: {{filesystem: {{rootdirectory: {(state_dir / 'data').resolve()}}}}}\n"
            f"http: {{addr: '{HOST}:{port}'}}\n"
        )
        return [server, "serve", str(config)]


IMAGE_REGISTRY = ImageRegistry()
up, down, status = IMAGE_REGISTRY.up, IMAGE_REGISTRY.down, IMAGE_REGISTRY.status


def recorded(state_dir: Path) -> processes.Recorded | None:
    """The registry as last started here, running or not (`up` starts it again on the same port)."""
    return processes.StateFile(state_dir / "state.json").read()


def address_of(recorded: processes.Recorded) -> str:
    """host:port, as image references name the registry."""
    return f"{HOST}:{recorded.port}"


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
