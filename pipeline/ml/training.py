"""Training: dataset -> its fixed split -> the architecture's features and Keras model -> candidate
artifact directory.

The architecture is the hyper-parameters' (`params.ARCHITECTURE`); everything here goes
through its interface (`pipeline.ml.architectures`). The artifact layout is `sentiment.artifact`'s.
An unchanged input (architecture, data fingerprint, hyper-parameters, training code, library
versions) reuses the existing candidate instead of retraining.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.ml import anchors, architectures, data, profile
from pipeline.ml.architectures import Architecture
from pipeline.ml.classification import summary
from pipeline.ml.data import Splits
from pipeline.ml.datasets import Dataset
from pipeline.ml.hyperparameters import DECISION_THRESHOLD, Parameters, check_output_dir, replace_dir
from pipeline.provenance import git_sha, library_versions, source_hash
from sentiment import artifact, buckets, featurizers, text
from sentiment.artifact import ArtifactError
from sentiment.runtime import SentimentModel

# The code every architecture's artifact depends on; the architecture's own module is added per run.
TRAINING_CODE = (
    Path(text.__file__),
    *sorted(Path(featurizers.__file__).parent.glob("*.py")),
    Path(data.__file__),  # dedupe and split (not the readers: the rows' fingerprint stands for what they read)
    Path(__file__).with_name("model.py"),  # not imported: a reused candidate needs no TensorFlow
    Path(architectures.__file__),
    Path(__file__),
)
LIBRARIES = ("tensorflow", "keras", "numpy", "ai-edge-litert")


@dataclass(frozen=True)
class TrainResult:
    metadata: dict[str, Any]
    reused: bool


def training_inputs_hash(splits: Splits, params: Parameters) -> str:
    doc = {
        "architecture": params.ARCHITECTURE,  # its version is in its module's code, hashed below
        "data": splits.fingerprint,
        "params": params.as_dict(),
        "code": source_hash(*TRAINING_CODE, architectures.source_file(params.ARCHITECTURE)),
        "libraries": library_versions(*LIBRARIES),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _reusable(out_dir: Path, inputs_hash: str) -> dict[str, Any] | None:
    try:
        metadata = artifact.verify(out_dir)
    except ArtifactError:
        return None
    return metadata if metadata.get("training_inputs") == inputs_hash else None


def _xy(examples: tuple[data.Example, ...]) -> tuple[list[str], np.ndarray]:
    return [ex.text for ex in examples], np.array([ex.label for ex in examples], dtype=np.float32)


def write_metadata(directory: Path, metadata: dict[str, Any]) -> None:
    (directory / artifact.METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")


def package(
    directory: Path, architecture: Architecture, state: Any, model: Any, provenance: dict[str, Any]
) -> dict[str, Any]:
    """Write the artifact files and their metadata (checksums, version, provenance) into `directory`."""
    state.save(directory / artifact.VOCABULARY_FILE)
    signature = architecture.export(model, state, directory / artifact.MODEL_FILE)
    model.save(directory / artifact.KERAS_FILE)
    hashes = {name: artifact.sha256_file(directory / name) for name in (*artifact.SERVING_FILES, artifact.KERAS_FILE)}
    metadata: dict[str, Any] = {
        "schema": artifact.METADATA_SCHEMA,
        "version": artifact.version_from_hashes(hashes),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_sha": git_sha(),
        **provenance,
        "architecture": {"name": architecture.name, "version": architecture.version},
        "inputs": [spec.as_dict() for spec in signature],  # what the architecture's featurizer feeds
        "decision_threshold": DECISION_THRESHOLD,
        "files": hashes,
        "libraries": library_versions(*LIBRARIES),
    }
    write_metadata(directory, metadata)
    return metadata


def repackage(source: Path, model: Any, out_dir: Path) -> dict[str, Any]:
    """Package another Keras model (e.g. with altered weights) with the feature state and provenance
    of the artifact in `source`, whatever its architecture."""
    metadata = artifact.read_metadata(source)
    architecture = architectures.get(artifact.architecture(metadata)[0])
    state = architecture.load_state(source / artifact.VOCABULARY_FILE)
    provenance = {k: metadata[k] for k in ("data", "hyperparameters", "training_inputs")}
    return package(out_dir, architecture, state, model, provenance)


def train(
    out_dir: Path,
    params: Parameters,
    dataset: Dataset,
    force: bool = False,
    with_anchors: bool = True,
    log: Callable[[str], None] = print,
) -> TrainResult:
    started = time.monotonic()
    check_output_dir(out_dir)
    splits = dataset.splits
    log(f"dataset {dataset.lineage['source']}: split {splits.sizes} fingerprint {splits.fingerprint[:16]}")
    inputs_hash = training_inputs_hash(splits, params)
    data_lineage = dataset.record()
    if not force and (existing := _reusable(out_dir, inputs_hash)) is not None:
        log(f"inputs unchanged: reusing candidate {existing['version']} in {out_dir} (use --force to retrain)")
        if existing["data"] != data_lineage:  # the same rows read from elsewhere: record where
            existing["data"] = data_lineage
            write_metadata(out_dir, existing)
        return TrainResult(existing, reused=True)

    architecture = architectures.get(params.ARCHITECTURE)
    train_xy, val_xy, test_xy = _xy(splits.train), _xy(splits.val), _xy(splits.test)
    state = architecture.fit_state(*train_xy, params)
    log(f"{architecture.name}: {architecture.describe(state)}; training up to {params.max_epochs} epochs")
    model = architecture.fit(state, train_xy, val_xy, params)

    provenance = {
        "data": data_lineage,
        "hyperparameters": params.as_dict(),
        "training_inputs": inputs_hash,
    }
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        metadata = package(work, architecture, state, model, provenance)
        # Metrics come from the exported artifact through the serving loader: what ships is what is measured.
        served = SentimentModel(work)
        metadata["metrics"] = {
            name: summary(y, served.scores(texts), served.threshold)
            for name, (texts, y) in (("val", val_xy), ("test", test_xy))
        }
        metadata["files"][buckets.PROFILE_FILE] = profile.write(work, served, test_xy[0], metadata)
        if with_anchors:
            log("scoring the anchors (VADER, TF-IDF + logistic regression) on the same test split")
            metadata["anchors"] = anchors.anchors(splits, params.seed)
        metadata["training_seconds"] = round(time.monotonic() - started, 1)
        write_metadata(work, metadata)
        replace_dir(work, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return TrainResult(metadata, reused=False)


def format_summary(metadata: dict[str, Any]) -> str:
    name, version = artifact.architecture(metadata)
    lines = [
        f"model {metadata['version']}: {name} v{version}  ({metadata['data']['sizes']})",
        f"{'':22}{'accuracy':>10}{'roc_auc':>10}",
    ]
    rows = [(f"model/{split}", m) for split, m in metadata.get("metrics", {}).items()]
    rows += [(f"anchor/{name}", m) for name, m in metadata.get("anchors", {}).items()]
    lines += [f"{name:22}{m['accuracy']:>10.4f}{m['roc_auc']:>10.4f}" for name, m in rows]
    return "\n".join(lines)
