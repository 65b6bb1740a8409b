"""Inference through the LiteRT interpreter: the only way the service scores text.

A LiteRT interpreter is not thread-safe, so each thread gets its own. Single
texts use an interpreter fixed at batch 1 (no resize on the hot path); batches
use a second one resized on demand.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from sentiment.artifact import MODEL_FILE, VOCABULARY_FILE, verify
from sentiment.text import Vocabulary

POSITIVE_THRESHOLD = 0.5


class _Runner:
    def __init__(self, model_bytes: bytes) -> None:
        self.interpreter = Interpreter(model_content=model_bytes, num_threads=1)
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        self.output_index = self.interpreter.get_output_details()[0]["index"]
        self.batch = 0

    def run(self, features: np.ndarray) -> np.ndarray:
        if features.shape[0] != self.batch:
            self.interpreter.resize_tensor_input(self.input_index, features.shape)
            self.interpreter.allocate_tensors()
            self.batch = features.shape[0]
        self.interpreter.set_tensor(self.input_index, features)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output_index)[:, 0].copy()


class SentimentModel:
    """A verified model artifact, ready to score texts from any number of threads."""

    def __init__(self, directory: Path) -> None:
        self.metadata: dict[str, Any] = verify(directory)
        self.directory = directory
        self.version: str = self.metadata["version"]
        self.vocabulary = Vocabulary.load(directory / VOCABULARY_FILE)
        self._model_bytes = (directory / MODEL_FILE).read_bytes()
        self._local = threading.local()
        self.scores(["warm up"])  # fail at load, not on the first request

    def _runner(self, single: bool) -> _Runner:
        name = "single" if single else "batch"
        runner = getattr(self._local, name, None)
        if runner is None:
            runner = _Runner(self._model_bytes)
            setattr(self._local, name, runner)
        return runner

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """P(positive) for each text, float32 [len(texts)]."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        features = self.vocabulary.vectorize(texts)
        return self._runner(single=len(texts) == 1).run(features)

    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        return [
            {"score": round(float(s), 6), "label": label_for(float(s)), "model_version": self.version}
            for s in self.scores(texts)
        ]


def label_for(score: float) -> str:
    return "positive" if score >= POSITIVE_THRESHOLD else "negative"
