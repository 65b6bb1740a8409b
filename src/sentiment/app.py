"""WSGI entry point: `gunicorn -c python:sentiment.gunicorn_conf sentiment.app:api`.

The model loads in each worker at import (never in the gunicorn master), and a
missing or corrupt model stops the server at start with one line.
"""

from __future__ import annotations

import sys

from sentiment.artifact import ArtifactError
from sentiment.loader import load_model
from sentiment.service import create_app
from sentiment.settings import get_settings

# gunicorn halts the whole server (instead of respawning forever) when a worker exits with this code.
WORKER_BOOT_ERROR = 3

_settings = get_settings()
try:
    _model = load_model(_settings)
except ArtifactError as exc:
    print(f"sentiment: cannot start: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(WORKER_BOOT_ERROR) from None

api = create_app(_model, image_ref=_settings.image_ref, git_sha=_settings.git_sha)
