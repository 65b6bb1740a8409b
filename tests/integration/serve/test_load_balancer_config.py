"""The local endpoint's HAProxy configuration (pipeline.environments.load_balancer.config), checked by HAProxy."""

import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.environments.load_balancer import ERRORS, MAX_ADMIN_SOCKET_BYTES, config, error_file

HAPROXY = shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin:/usr/bin:/usr/local/bin")
pytestmark = pytest.mark.skipif(HAPROXY is None, reason="NOT TESTED: haproxy is missing (apt-get install haproxy)")


def check(tmp_path: Path, socket_bytes: int) -> subprocess.CompletedProcess:
    prefix = str(tmp_path) + "/"
    admin_socket = Path(prefix + "s" * (socket_bytes - len(prefix) - len("/admin.sock")) + "/admin.sock")
    assert len(str(admin_socket).encode()) == socket_bytes
    for status, title in ERRORS.items():
        (tmp_path / f"{status}.http").write_text(error_file(status, title))
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(config(18080, admin_socket, tmp_path))
    return subprocess.run([HAPROXY, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)


def test_haproxy_takes_admin_socket_paths_up_to_the_limit_the_pipeline_checks(tmp_path):
    assert check(tmp_path, MAX_ADMIN_SOCKET_BYTES).returncode == 0
    refused = check(tmp_path, MAX_ADMIN_SOCKET_BYTES + 1)
    assert refused.returncode != 0 and f"too long (max {MAX_ADMIN_SOCKET_BYTES})" in refused.stdout + refused.stderr
