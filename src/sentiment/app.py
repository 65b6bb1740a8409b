"""WSGI entry point: `gunicorn -c python:sentiment.gunicorn_conf sentiment.app:api`.

The model loads in each worker at import (never in the gunicorn master), and invalid
settings or a missing, corrupt or unreachable model stop the server at start with one
line per worker, `sentiment: cannot start: ...`, instead of a traceback.
"""

from __future__ import annotations

import sys

from sentiment.artifact import ArtifactError
from sentiment.loader import load_model
from sentiment.service import create_app, startup_error
from sentiment.settings import get_settings

# gunicorn halts the whole server (instead of respawning forever) when a worker exits with this code.
WORKER_BOOT_ERROR = 3

try:
    _settings = get_settings()
    _model = load_model(_settings)
except (ArtifactError, OSError, ValueError) as exc:  # ValueError includes pydantic's ValidationError
    print(f"sentiment: cannot start: {startup_error(exc)}", file=sys.stderr, flush=True)
    raise SystemExit(WORKER_BOOT_ERROR) from None

api = create_app(_model, image_ref=_settings.image_ref, git_sha=_settings.git_sha)
