"""The n-gram model's featurizer: term ids and counts (`sentiment.text.Vocabulary.count_rows`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sentiment.artifact import ArtifactError, InputSpec
from sentiment.text import Vocabulary

SIGNATURE = (("ids", "int32"), ("counts", "float32"))


class NGramFeaturizer:
    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary

    @classmethod
    def load(cls, path: Path, signature: tuple[InputSpec, ...]) -> NGramFeaturizer:
        if tuple((spec.name, spec.dtype) for spec in signature) != SIGNATURE:
            raise ArtifactError(f"the n-gram featurizer feeds {SIGNATURE}, not the artifact's inputs {signature}")
        return cls(Vocabulary.load(path))

    def inputs(self, texts: Sequence[str]) -> tuple[np.ndarray, ...]:
        return self.vocabulary.count_rows(texts)

    def token_stats(self, text: str) -> tuple[int, int]:
        return self.vocabulary.token_stats(text)
