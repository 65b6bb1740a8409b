"""`python -m pipeline.local <service> up|down|status`: one command for the local servers, each a LocalService."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.commands.local import SERVICES
from pipeline.environments import emulator, image_registry, prometheus
from pipeline.environments.local_service import LocalService

REPO = Path(__file__).resolve().parents[3]


def local(artifacts: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARTIFACTS_DIR": str(artifacts), "LOCAL_IMAGE_REGISTRY_PORT": "0"}
    command = [sys.executable, "-m", "pipeline.local", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=120)


def test_the_three_local_servers_are_one_kind_and_one_command():
    kinds = [emulator.EMULATOR, image_registry.IMAGE_REGISTRY, prometheus.PROMETHEUS]
    assert all(isinstance(kind, LocalService) for kind in kinds)
    assert [service.kind for service in SERVICES.values()] == kinds
    out = local(Path("unused"), "--help")
    assert out.returncode == 0 and all(name in out.stdout for name in SERVICES)


@pytest.mark.slow
def test_the_image_registry_up_status_down_and_back_on_its_port(tmp_path):
    artifacts = tmp_path / "artifacts"
    assert local(artifacts, "image-registry", "status").returncode == 1
    up = local(artifacts, "image-registry", "up")
    assert up.returncode == 0 and "local image registry running at http://127.0.0.1:" in up.stdout, up.stderr
    try:
        status = local(artifacts, "image-registry", "status")
        assert status.returncode == 0 and "running at" in status.stdout
    finally:
        assert "stopped the local image registry" in local(artifacts, "image-registry", "down").stdout
    # The record stays (the port is kept), but a second down has nothing to stop.
    assert "nothing to stop" in local(artifacts, "image-registry", "down").stdout
    assert local(artifacts, "image-registry", "status").returncode == 1
    again = local(artifacts, "image-registry", "up")
    try:
        assert again.stdout.split(" (pid")[0] == up.stdout.split(" (pid")[0], "the registry came back on another port"
    finally:
        local(artifacts, "image-registry", "down")
