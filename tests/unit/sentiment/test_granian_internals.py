"""The private Granian internals sentiment.serve relies on, named one by one, for the pinned version.

sentiment.serve's Granian server re-declares Granian's WSGI worker (to take the stop signal only once
serving has begun) and replaces each worker's watcher (gunicorn's rules for workers that die). Those
are private: a Granian release may rename or change them without notice, so pyproject.toml pins the
exact version tested, and this test fails on any version where one of them changed. To move to a new
Granian: read each changed function below against sentiment.serve, run tests/integration/serve/test_serve.py, then
update the pin and the fingerprints together.
"""

import ast
import hashlib
import importlib
import importlib.metadata
import inspect
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TESTED_VERSION = "2.8.9"

# module, name: each private symbol sentiment.serve imports.
IMPORTED = [
    ("granian._futures", "_new_cbscheduler"),
    ("granian._granian", "WorkerSignal"),
    ("granian._granian", "WSGIWorker"),
    ("granian.server.common", "WORKERS_METHODS"),
    ("granian.wsgi", "_callback_wrapper"),
    ("granian.server.mp", "MPServer"),
    ("granian.server.mp", "WorkerProcess"),
]

PUBLIC_MODULES = {"granian.constants", "granian.http", "granian.log"}

# The Granian code sentiment.serve copies, overrides or reaches into, by the sha256 of its source
# (first 16 hex digits): Server._spawn_wsgi_worker copies the first; Server._spawn_worker overrides
# the second and replaces the watcher (_watcher/_watch) of the worker wrap_target runs; Server._watch
# sets interrupt_signal, interrupt_children and main_loop_interrupt, which _serve_loop reads; and
# Server.shutdown passes its own exit code to AbstractServer.shutdown.
FINGERPRINTS = {
    "granian.server.mp:MPServer._spawn_wsgi_worker": "cec99fbc728fc891",  # pragma: allowlist secret
    "granian.server.mp:MPServer._spawn_worker": "87b0a0e68f390bca",  # pragma: allowlist secret
    "granian.server.mp:WorkerProcess.wrap_target": "590801916a38ee28",  # pragma: allowlist secret
    "granian.server.common:AbstractWorker._watcher": "5c2a53f123c79f56",  # pragma: allowlist secret
    "granian.server.common:AbstractWorker._watch": "c28a879c6a468b79",  # pragma: allowlist secret
    "granian.server.common:AbstractServer.shutdown": "e6559a0343cf7bdb",  # pragma: allowlist secret
    "granian.server.common:AbstractServer._serve_loop": "123ffa1d2e47bda9",  # pragma: allowlist secret
}

# The Rust worker sentiment.serve constructs with positional arguments.
WSGI_WORKER_SIGNATURE = (
    "(worker_id, sock, ipc, threads=1, blocking_threads=512, py_threads=1, py_threads_idle_timeout=30, "
    'backpressure=128, http_mode="1", http1_opts=None, http2_opts=None, static_files=None, ssl_enabled=False, '
    'ssl_cert=None, ssl_key=None, ssl_key_password=None, ssl_protocol_min="1.3", ssl_ca=None, ssl_crl=..., '
    "ssl_client_verify=False, metrics=...)"
)


def fingerprint(where: str) -> str:
    module, _, path = where.partition(":")
    obj = importlib.import_module(module)
    for name in path.split("."):
        obj = getattr(obj, name)
    source = inspect.getsource(inspect.unwrap(obj))
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def test_pyproject_pins_the_tested_granian_exactly():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    granian = [d for d in dependencies if re.match(r"granian\b", d)]
    assert granian == [f"granian=={TESTED_VERSION}"]


def test_the_installed_granian_is_the_tested_one():
    assert importlib.metadata.version("granian") == TESTED_VERSION


@pytest.mark.parametrize(("module", "name"), IMPORTED)
def test_each_private_symbol_imported_exists(module, name):
    assert hasattr(importlib.import_module(module), name), f"{module}.{name} is gone"


@pytest.mark.parametrize("where", sorted(FINGERPRINTS))
def test_the_granian_code_the_server_relies_on_is_unchanged(where):
    assert fingerprint(where) == FINGERPRINTS[where], f"{where} changed: review sentiment.serve against it"


def test_the_wsgi_worker_takes_the_arguments_the_server_passes():
    from granian._granian import WSGIWorker

    assert WSGIWorker.__text_signature__ == WSGI_WORKER_SIGNATURE


def test_serve_imports_from_granian_only_public_modules_and_the_symbols_named_here():
    tree = ast.parse((ROOT / "src/sentiment/serve.py").read_text())
    imported = {
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("granian")
        for alias in node.names
    }
    assert {(m, n) for m, n in imported if m not in PUBLIC_MODULES} == set(IMPORTED)
