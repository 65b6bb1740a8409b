"""Inference through the LiteRT interpreter: the only way the service scores text.

The artifact's metadata names its architecture and input signature; the architecture's
featurizer (`sentiment.featurizers`) turns texts into one array per signature input and
this module feeds them to the interpreter by signature name, whatever the architecture.

A LiteRT interpreter is not thread-safe, so each thread gets its own. An interpreter is
resized only when the input shape changes, and single texts and batches use separate
interpreters, so the usual single-text request never re-allocates. A model exported with
a fixed batch size (sequence models convert to LiteRT only with fixed shapes, e.g. [1, N])
gets its texts in slices of that size, the last one padded with empty rows.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from sentiment import artifact, featurizers
from sentiment.artifact import MODEL_FILE, ArtifactError, InputSpec, verify


class _Runner:
    def __init__(self, model_bytes: bytes, signature: tuple[InputSpec, ...]) -> None:
        self.interpreter = Interpreter(model_content=model_bytes, num_threads=1)
        by_name = self.interpreter.get_signature_runner().get_input_details()
        missing = [spec.name for spec in signature if spec.name not in by_name]
        if missing:
            raise ArtifactError(f"the serving model has no input {', '.join(missing)} (it has {', '.join(by_name)})")
        self.indices = [by_name[spec.name]["index"] for spec in signature]
        self.output_index = self.interpreter.get_output_details()[0]["index"]
        self.shapes: tuple[tuple[int, ...], ...] = ()

    def run(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        shapes = tuple(a.shape for a in inputs)
        if shapes != self.shapes:
            for index, shape in zip(self.indices, shapes, strict=True):
                self.interpreter.resize_tensor_input(index, shape)
            self.interpreter.allocate_tensors()
            self.shapes = shapes
        for index, array in zip(self.indices, inputs, strict=True):
            self.interpreter.set_tensor(index, array)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output_index)[:, 0].copy()


class SentimentModel:
    """A verified model artifact, ready to score texts from any number of threads."""

    def __init__(self, directory: Path) -> None:
        self.metadata: dict[str, Any] = verify(directory)
        self.directory = directory
        self.version: str = self.metadata["version"]
        self.threshold = decision_threshold(self.metadata)
        self.architecture, self.architecture_version = artifact.architecture(self.metadata)
        self.signature = artifact.input_signature(self.metadata)
        self.featurizer = featurizers.load(directory, self.metadata)
        self._batch = self.signature[0].shape[0]  # None: any batch size
        self._model_bytes = (directory / MODEL_FILE).read_bytes()
        self._local = threading.local()
        self.scores(["warm up"])  # fail at load, not on the first request

    def _runner(self, single: bool) -> _Runner:
        name = "single" if single else "batch"
        runner = getattr(self._local, name, None)
        if runner is None:
            runner = _Runner(self._model_bytes, self.signature)
            setattr(self._local, name, runner)
        return runner

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """P(positive) for each text, float32 [len(texts)]."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        inputs = self.featurizer.inputs(texts)
        if self._batch is None:
            return self._runner(single=len(texts) == 1).run(inputs)
        return self._fixed_batches(inputs, len(texts), self._batch)

    def _fixed_batches(self, inputs: tuple[np.ndarray, ...], n: int, size: int) -> np.ndarray:
        runner = self._runner(single=size == 1)
        out = np.empty(n, dtype=np.float32)
        for start in range(0, n, size):
            chunk = [a[start : start + size] for a in inputs]
            rows = len(chunk[0])
            if rows < size:  # the last slice: pad with empty rows, whose scores are dropped
                chunk = [np.concatenate([c, np.zeros((size - rows, *c.shape[1:]), c.dtype)]) for c in chunk]
            out[start : start + rows] = runner.run(chunk)[:rows]
        return out

    def token_stats(self, text: str) -> tuple[int, int]:
        """(word tokens, of which out of the model's vocabulary), as the architecture counts them."""
        return self.featurizer.token_stats(text)

    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        return [
            {"score": round(float(s), 6), "label": label_for(float(s), self.threshold), "model_version": self.version}
            for s in self.scores(texts)
        ]


def decision_threshold(metadata: dict[str, Any]) -> float:
    """The score at or above which a text is "positive", as chosen at training and recorded in the metadata."""
    value = metadata.get("decision_threshold")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value < 1.0:
        raise ArtifactError(f"metadata decision_threshold {value!r} is not a number between 0 and 1; retrain")
    return float(value)


def label_for(score: float, threshold: float) -> str:
    return "positive" if score >= threshold else "negative"
