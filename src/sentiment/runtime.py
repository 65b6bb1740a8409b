"""Inference through the LiteRT interpreter: the only way the service scores text.

A LiteRT interpreter is not thread-safe, so each thread gets its own. The model
takes term counts (ids + counts, see sentiment.artifact); an interpreter is
resized only when the input shape changes, and single texts and batches use
separate interpreters, so the usual single-text request never re-allocates.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from sentiment import monitoring
from sentiment.artifact import MODEL_FILE, VOCABULARY_FILE, ArtifactError, verify
from sentiment.text import Vocabulary, tokenize


class _Runner:
    def __init__(self, model_bytes: bytes) -> None:
        self.interpreter = Interpreter(model_content=model_bytes, num_threads=1)
        inputs = {d["dtype"]: d["index"] for d in self.interpreter.get_input_details()}
        self.ids_index, self.counts_index = inputs[np.int32], inputs[np.float32]
        self.output_index = self.interpreter.get_output_details()[0]["index"]
        self.shape: tuple[int, ...] = ()

    def run(self, ids: np.ndarray, counts: np.ndarray) -> np.ndarray:
        if ids.shape != self.shape:
            self.interpreter.resize_tensor_input(self.ids_index, ids.shape)
            self.interpreter.resize_tensor_input(self.counts_index, counts.shape)
            self.interpreter.allocate_tensors()
            self.shape = ids.shape
        self.interpreter.set_tensor(self.ids_index, ids)
        self.interpreter.set_tensor(self.counts_index, counts)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output_index)[:, 0].copy()


class SentimentModel:
    """A verified model artifact, ready to score texts from any number of threads."""

    def __init__(self, directory: Path) -> None:
        self.metadata: dict[str, Any] = verify(directory)
        self.directory = directory
        self.version: str = self.metadata["version"]
        self.threshold = decision_threshold(self.metadata)
        self.vocabulary = Vocabulary.load(directory / VOCABULARY_FILE)
        self._model_bytes = (directory / MODEL_FILE).read_bytes()
        # Word unigrams only: a token is out of vocabulary when the model has no word term for it.
        vocab = self.vocabulary
        self._known_words = frozenset(t for t in vocab.terms[: vocab.n_word_terms] if " " not in t)
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
        ids, counts = self.vocabulary.count_rows(texts)
        return self._runner(single=len(texts) == 1).run(ids, counts)

    def token_stats(self, text: str) -> tuple[int, int]:
        """(tokens, out-of-vocabulary tokens) of one text, for the monitoring profile and metrics."""
        return monitoring.token_stats(text, tokenize, self._known_words)

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
