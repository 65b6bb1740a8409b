"""The unit tier's promise, enforced: no trained model, no subprocess, no server, no network.

A unit test that starts a process, listens on a socket or connects anywhere fails here with the
reason; one that asks for a trained model or an emulator fails at set-up. Such a test belongs in
tests/integration/<area>/.
"""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

INTEGRATION_ONLY = "a unit test may not {what}: move it to tests/integration/<area>/"


def _refuse(what: str):
    def refuse(*args, **kwargs):
        pytest.fail(INTEGRATION_ONLY.format(what=what), pytrace=False)

    return refuse


@pytest.fixture(autouse=True)
def no_process_server_or_network(monkeypatch: pytest.MonkeyPatch) -> None:
    # _execute_child is where every subprocess.Popen (run, check_output, ...) starts its process.
    monkeypatch.setattr(subprocess.Popen, "_execute_child", _refuse("start a process"))
    for name in ("system", "posix_spawn", "posix_spawnp", "fork", "forkpty"):
        monkeypatch.setattr(os, name, _refuse("start a process"))
    monkeypatch.setattr(socket.socket, "listen", _refuse("listen on a socket (start a server)"))
    monkeypatch.setattr(socket.socket, "connect", _refuse("open a network connection"))
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse("open a network connection"))
    monkeypatch.setattr(socket, "create_connection", _refuse("open a network connection"))


def _integration_fixture(name: str):
    @pytest.fixture(name=name, scope="session")
    def refused():
        pytest.fail(INTEGRATION_ONLY.format(what=f"use the `{name}` fixture"), pytrace=False)

    return refused


# The session fixtures of tests/conftest.py that train a model or serve one.
trained_dir = _integration_fixture("trained_dir")
bilstm_dir = _integration_fixture("bilstm_dir")
blessed = _integration_fixture("blessed")
zeroed_dir = _integration_fixture("zeroed_dir")
nan_dir = _integration_fixture("nan_dir")
model = _integration_fixture("model")
free_port = _integration_fixture("free_port")
