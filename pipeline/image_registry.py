"""Where images go: Amazon ECR in dev/qa/prod, a local registry in `local`.

`python -m pipeline.image_registry up|down|status`. The local registry is Debian's
`docker-registry` (the CNCF distribution registry) on 127.0.0.1, storing under
artifacts/registry/data so images survive a restart; it keeps its port across restarts
so recorded image references stay valid. The emulator's ECR holds no images (moto does
not speak the registry protocol), so `local` pushes here instead.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import socket
import sys
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline import processes
from pipeline.cli import StageError, run
from sentiment.settings import Settings, get_settings

STAGE = "image_registry"
HOST = processes.LOOPBACK
READY_TIMEOUT_S = 20
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


@dataclass(frozen=True)
class LocalRegistry:
    pid: int
    port: int
    log: str

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"


def _state_file(state_dir: Path) -> Path:
    return state_dir / "state.json"


def _recorded(state_dir: Path) -> LocalRegistry | None:
    try:
        return LocalRegistry(**json.loads(_state_file(state_dir).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def answers(address: str) -> bool:
    return processes.http_ok(f"http://{address}/v2/")


def status(state_dir: Path) -> LocalRegistry | None:
    registry = _recorded(state_dir)
    return registry if registry and processes.alive(registry.pid) and answers(registry.address) else None


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def up(state_dir: Path, port: int = 0) -> LocalRegistry:
    if (running := status(state_dir)) is not None:
        return running
    server = shutil.which("docker-registry")
    if server is None:
        raise StageError("docker-registry not found: install Debian's `docker-registry` package", exit_code=2)
    previous = _recorded(state_dir)
    if not port and previous and _port_is_free(previous.port):
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
        proc = processes.start_until_ready(
            [server, "serve", str(config)], log_path, lambda: answers(f"{HOST}:{port}"), READY_TIMEOUT_S
        )
    except processes.NotReady:
        raise StageError(f"the local registry did not start on port {port}; see {log_path}", exit_code=2) from None
    registry = LocalRegistry(pid=proc.pid, port=port, log=str(log_path))
    _state_file(state_dir).write_text(json.dumps(asdict(registry)))
    return registry


def down(state_dir: Path) -> bool:
    """Stop the registry `up` started here (its state file stays, so the port is kept)."""
    registry = status(state_dir)
    if registry is None:
        return False
    processes.stop_group(registry.pid, grace_s=5)
    return True


def local_digest(address: str, repository: str, tag: str) -> str | None:
    """The digest the local registry holds under repository:tag, or None."""
    request = urllib.request.Request(
        f"http://{address}/v2/{repository}/manifests/{tag}", method="HEAD", headers={"Accept": MANIFEST_TYPES}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310  # nosec B310 - loopback http only
            return resp.headers.get("Docker-Content-Digest")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise StageError(f"local registry {address}: HTTP {exc.code} for {repository}:{tag}") from exc
    except OSError as exc:
        raise StageError(f"local registry {address} is unreachable: {exc}") from exc


def ecr_digest(settings: Settings, repository: str, tag: str) -> str | None:
    """The digest ECR holds under repository:tag, or None."""
    import boto3

    ecr = boto3.client("ecr", region_name=settings.aws_default_region)
    try:
        images = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"]
    except ecr.exceptions.ImageNotFoundException:
        return None
    return images[0]["imageDigest"] if images else None


def ecr_credentials(settings: Settings) -> tuple[str, str, str]:
    """(registry host, username, password) from ECR's authorization token (valid 12 hours)."""
    import boto3

    ecr = boto3.client("ecr", region_name=settings.aws_default_region)
    data = ecr.get_authorization_token()["authorizationData"][0]
    username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    return data["proxyEndpoint"].removeprefix("https://"), username, password


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.image_registry", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    settings = get_settings()
    state_dir = settings.local_registry_dir
    if args.command == "up":
        registry = up(state_dir, settings.local_registry_port)
        print(f"local registry running at {registry.address} (pid {registry.pid}, log {registry.log})")
    elif args.command == "down":
        print("stopped the local registry" if down(state_dir) else "no local registry is running here")
    elif (registry := status(state_dir)) is None:
        print("local registry: not running (start it with `python -m pipeline.image_registry up`)", file=sys.stderr)
        return 1
    else:
        print(f"local registry: running at {registry.address} (pid {registry.pid})")
    return 0


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
