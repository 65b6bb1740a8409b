"""Measure a model artifact the way it ships: through `sentiment.runtime`, the service's loader.

Every measurement is a named float; `pipeline.gate` compares them with the thresholds.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.ml import data
from pipeline.ml.classification import accuracy, roc_auc
from sentiment import artifact
from sentiment.runtime import SentimentModel

LATENCY_CALLS = 500
POSITIVE = "positive"


def _labels(rows: list[dict[str, Any]]) -> np.ndarray:
    return np.array([row["label"] == POSITIVE for row in rows], dtype=np.int64)


def sanity(model: SentimentModel, rows: list[dict[str, Any]]) -> dict[str, float]:
    scores = model.scores([row["text"] for row in rows])
    labels = _labels(rows)
    out = {"sanity.accuracy": accuracy(labels, scores, model.threshold), "sanity.roc_auc": roc_auc(labels, scores)}
    for tag in sorted({t for row in rows for t in row["tags"]}):
        mask = np.array([tag in row["tags"] for row in rows])
        out[f"slice.{tag}"] = accuracy(labels[mask], scores[mask], model.threshold)
    return out


def held_out(model: SentimentModel, splits: data.Splits) -> dict[str, float]:
    labels = np.array([ex.label for ex in splits.test])
    scores = model.scores([ex.text for ex in splits.test])
    return {"test.accuracy": accuracy(labels, scores, model.threshold), "test.roc_auc": roc_auc(labels, scores)}


def suites(model: SentimentModel, suites: dict[str, list[dict[str, Any]]]) -> dict[str, float]:
    out = {}
    mft = suites["minimum_functionality"]
    out["suite.minimum_functionality"] = accuracy(_labels(mft), model.scores([r["text"] for r in mft]), model.threshold)
    inv = suites["invariance"]
    a, b = model.scores([r["original"] for r in inv]), model.scores([r["variant"] for r in inv])
    out["suite.invariance"] = float(np.mean((a >= model.threshold) == (b >= model.threshold)))
    dr = suites["directional"]
    a, b = model.scores([r["original"] for r in dr]), model.scores([r["variant"] for r in dr])
    ok = [
        vb <= va + 1e-6 if r["expect"] == "not_higher" else vb >= va - 1e-6 for r, va, vb in zip(dr, a, b, strict=True)
    ]
    out["suite.directional"] = float(np.mean(ok))
    return out


def latency_p99_ms(model: SentimentModel, texts: list[str]) -> float:
    """Single-text calls, as the API makes them, after a warm-up, in CPU time of this process: what the
    model costs, whatever else the machine runs (a busy CI agent must not block a model; the live
    endpoint's wall-clock p99 is smoke's and the delivery judge's to measure)."""
    for text in texts[:20]:
        model.predict([text])
    timings = []
    for i in range(LATENCY_CALLS):
        started = time.process_time()
        model.predict([texts[i % len(texts)]])
        timings.append(time.process_time() - started)
    return float(np.percentile(timings, 99) * 1000)


def artifact_size_mb(directory: Path) -> float:
    return sum((directory / name).stat().st_size for name in artifact.SERVING_FILES) / 1e6


def parity_max_abs_diff(model: SentimentModel, texts: list[str]) -> float:
    """Largest |Keras - LiteRT| score over the texts; the Keras model's inputs come from the
    artifact's architecture (`pipeline.ml.architectures`), the LiteRT scores from the runtime."""
    import keras

    from pipeline.ml import architectures

    keras_model = keras.models.load_model(model.directory / artifact.KERAS_FILE, safe_mode=True)
    architecture = architectures.get(model.architecture)
    state = architecture.load_state(model.directory / artifact.VOCABULARY_FILE)
    expected = np.asarray(keras_model(architecture.keras_inputs(state, texts)))[:, 0]
    return float(np.max(np.abs(expected - model.scores(texts))))


def quality(model: SentimentModel, config_sanity: list[dict[str, Any]], splits: data.Splits) -> dict[str, float]:
    """The measurements a champion is compared on."""
    return {**sanity(model, config_sanity), **held_out(model, splits)}
