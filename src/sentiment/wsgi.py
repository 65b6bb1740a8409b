"""WSGI entry point: `python -m sentiment serve` (Granian or gunicorn), or
`gunicorn -c python:sentiment.gunicorn_conf sentiment.wsgi:api`.

The model loads in each worker at import (never in the server's master process), and invalid
settings or a missing, corrupt or unreachable model stop the server at start with one
line, `sentiment: cannot start: ...`, instead of a traceback: the first worker of a server
to fail says it and exits; the others, failing the same way, wait quietly until the server stops them
(gunicorn, reaping a second failed worker while it halts for the first, printed a traceback).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import time

from sentiment import faults
from sentiment.app import create_app, startup_error
from sentiment.artifact import ArtifactError
from sentiment.loader import load_model
from sentiment.settings import get_settings

# gunicorn halts the whole server (instead of respawning forever) when a worker exits with this code;
# so does sentiment.serve's Granian server.
WORKER_BOOT_ERROR = 3
# How long a worker that failed second waits for its server to stop it before it exits anyway.
STOPPED_WITHIN_S = 60


def _first_to_fail() -> bool:
    """True in the first worker of this server to fail at start: the server's fresh metrics
    directory holds one marker, made by whichever failing worker comes first."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return True
    try:
        os.close(os.open(os.path.join(directory, "cannot-start"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return False
    except OSError:
        return True
    return True


try:
    _settings = get_settings()
    _fault = faults.configured(_settings.sentiment_test_fault)  # tests only (sentiment.faults); None by default
    _model = load_model(_settings)
except (ArtifactError, OSError, ValueError) as exc:  # ValueError includes pydantic's ValidationError
    if _first_to_fail():
        print(f"sentiment: cannot start: {startup_error(exc)}", file=sys.stderr, flush=True)
    else:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # gunicorn's worker handler would only note it
        time.sleep(STOPPED_WITHIN_S)
    raise SystemExit(WORKER_BOOT_ERROR) from None

api = create_app(
    _model,
    image_ref=_settings.image_ref,
    emf_service=_settings.emf_dimension,
    emf_interval_s=_settings.emf_interval_s,
)
if _fault is not None:
    api.add_middleware(_fault)

# What is loaded now (the model, its vocabulary, the libraries) lives as long as the worker: the
# collector stops scanning it, so a full collection no longer stalls every request queued on this
# worker (docs/benchmarks.md has the pause it removed).
gc.freeze()
