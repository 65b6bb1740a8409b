"""The model artifact directory: layout, version, checksum verification and what the metadata
says about the model's architecture and serving inputs.

Layout (schema 3):
  model.tflite     serving model for the LiteRT runtime; its inputs are the metadata's `inputs`
                   (the architecture's input signature), output float32 [batch, 1] = P(positive)
  vocabulary.json  the architecture's feature state as JSON (n-gram vocabulary + idf, or a token
                   vocabulary), read by the architecture's featurizer (`sentiment.featurizers`)
  model.keras      the Keras model, for inspection only; never loaded by the service
  metadata.json    see README "Model artifact"; `files` maps every file above to its sha256,
                   `architecture` names the architecture and its version

The version is a content hash of the serving files, so the same weights and
vocabulary always get the same version and any change gets a new one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

METADATA_SCHEMA = 3
MODEL_FILE = "model.tflite"
VOCABULARY_FILE = "vocabulary.json"
KERAS_FILE = "model.keras"
METADATA_FILE = "metadata.json"
SERVING_FILES = (MODEL_FILE, VOCABULARY_FILE)
# Artifacts from before the `architecture` field are all the n-gram model's first version.
DEFAULT_ARCHITECTURE = ("ngram", 1)
DTYPES = ("int32", "float32")


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


@dataclass(frozen=True)
class InputSpec:
    """One input of the serving model: its signature name, shape (None = any size) and dtype."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


def architecture(metadata: Mapping[str, Any]) -> tuple[str, int]:
    """(name, version) of the architecture the artifact was trained with."""
    value = metadata.get("architecture")
    if value is None:
        return DEFAULT_ARCHITECTURE
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or type(value.get("version")) is not int:
        raise ArtifactError(f"metadata architecture {value!r} must be {{'name': str, 'version': int}}; retrain")
    return value["name"], value["version"]


def _dim(value: Any) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        return value
    raise ValueError(f"dimension {value!r} is neither null nor a positive integer")


def input_signature(metadata: Mapping[str, Any]) -> tuple[InputSpec, ...]:
    """The serving model's inputs in the order the featurizer produces them; every input has
    the same batch dimension (the first), fixed or not."""
    raw = metadata.get("inputs")
    try:
        if not isinstance(raw, list) or not raw:
            raise ValueError("it must be a non-empty list")
        specs = tuple(InputSpec(str(d["name"]), tuple(_dim(n) for n in d["shape"]), str(d["dtype"])) for d in raw)
        if any(spec.dtype not in DTYPES or len(spec.shape) != 2 for spec in specs):
            raise ValueError(f"every input must be 2-D and one of {', '.join(DTYPES)}")
        if len({spec.shape[0] for spec in specs}) != 1:
            raise ValueError("the inputs disagree on the batch dimension")
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"metadata inputs {raw!r} are not an input signature ({exc}); retrain") from exc
    return specs
