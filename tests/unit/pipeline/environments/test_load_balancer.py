"""pipeline/environments/load_balancer.py: what is refused before HAProxy starts."""

from pathlib import Path

import pytest

from pipeline.environments.load_balancer import MAX_ADMIN_SOCKET_BYTES, check_admin_socket
from pipeline.errors import StageError


def socket_path(size: int) -> Path:
    return Path("/" + "d" * (size - len("/admin.sock") - 1) + "/admin.sock")


def test_an_admin_socket_path_haproxy_takes_passes():
    check_admin_socket(socket_path(MAX_ADMIN_SOCKET_BYTES))


def test_a_deeper_admin_socket_path_is_refused_in_one_line_naming_the_setting():
    with pytest.raises(
        StageError, match=r"is a 98-byte path, and HAProxy takes at most 97: set a shorter ARTIFACTS_DIR"
    ):
        check_admin_socket(socket_path(MAX_ADMIN_SOCKET_BYTES + 1))
