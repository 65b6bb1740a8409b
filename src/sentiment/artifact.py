"""The model artifact directory: layout, version and checksum verification.

Layout (schema 3: term counts in, weighting inside the model):
  model.tflite     serving model for the LiteRT runtime; inputs ids int32 and counts float32,
                   both [batch, n] (`Vocabulary.count_rows`, padded with id 0 / count 0),
                   output float32 [batch, 1] = P(positive)
  vocabulary.json  n-gram vocabulary + idf (`sentiment.text.Vocabulary`)
  model.keras      the Keras model, for inspection only; never loaded by the service
  metadata.json    see README "Model artifact"; `files` maps every file above to its sha256

The version is a content hash of the serving files, so the same weights and
vocabulary always get the same version and any change gets a new one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

METADATA_SCHEMA = 3
MODEL_FILE = "model.tflite"
VOCABULARY_FILE = "vocabulary.json"
KERAS_FILE = "model.keras"
METADATA_FILE = "metadata.json"
SERVING_FILES = (MODEL_FILE, VOCABULARY_FILE)


class ArtifactError(Exception):
    """The artifact is missing, incomplete or does not match its checksums."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def version_from_hashes(file_hashes: Mapping[str, str]) -> str:
    joined = "".join(f"{name}:{file_hashes[name]}\n" for name in SERVING_FILES)
    return hashlib.sha256(joined.encode()).hexdigest()[:12]


def read_metadata(directory: Path) -> dict[str, Any]:
    path = directory / METADATA_FILE
    if not path.is_file():
        raise ArtifactError(
            f"no model artifact at {directory} ({METADATA_FILE} missing; run `python -m pipeline.train`)"
        )
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(metadata, dict) or metadata.get("schema") != METADATA_SCHEMA:
        raise ArtifactError(
            f"{path}: metadata schema {metadata.get('schema') if isinstance(metadata, dict) else None!r} is not "
            f"{METADATA_SCHEMA}; retrain with this code (`python -m pipeline.train`)"
        )
    return metadata


def verify(directory: Path) -> dict[str, Any]:
    """Check every listed file against its sha256 and the version against the serving files."""
    metadata = read_metadata(directory)
    files = metadata.get("files")
    if not isinstance(files, dict) or not set(SERVING_FILES) <= set(files):
        raise ArtifactError(f"{directory / METADATA_FILE}: `files` must list {', '.join(SERVING_FILES)}")
    for name, expected in files.items():
        path = directory / name
        if not path.is_file():
            if name not in SERVING_FILES:
                continue  # e.g. model.keras, which a serving cache does not download
            raise ArtifactError(f"model artifact {directory} is missing {name}")
        if sha256_file(path) != expected:
            raise ArtifactError(f"checksum mismatch for {path}: the artifact was modified or corrupted")
    if version_from_hashes(files) != metadata.get("version"):
        raise ArtifactError(f"{directory}: version {metadata.get('version')!r} does not match the serving files")
    return metadata
