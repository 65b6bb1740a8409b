"""Token-id sequences for sequence models (the BiLSTM): a word vocabulary, ids padded to a fixed length.

Id 0 is padding, 1 an out-of-vocabulary word, 2.. the vocabulary's tokens (most frequent
first). Texts are tokenized as the n-gram model's (`sentiment.text.tokenize`); the first
`length` tokens are kept and the rest of the row is padding, which the model masks.
Training fits and encodes with this same class, so training and serving cannot disagree.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sentiment.artifact import ArtifactError, InputSpec
from sentiment.text import tokenize

TOKEN_VOCABULARY_SCHEMA = 1
KIND = "token_ids"
PAD, OOV = 0, 1
FIRST_TOKEN_ID = 2


@dataclass(frozen=True)
class TokenVocabulary:
    tokens: tuple[str, ...]  # id = FIRST_TOKEN_ID + position
    length: int  # tokens per row; the serving model's fixed sequence dimension

    def __post_init__(self) -> None:
        if self.length < 1:
            raise ValueError(f"sequence length {self.length} must be positive")
        object.__setattr__(self, "_index", {t: FIRST_TOKEN_ID + i for i, t in enumerate(self.tokens)})

    @property
    def size(self) -> int:
        """Rows of the embedding: padding, out-of-vocabulary and the tokens."""
        return FIRST_TOKEN_ID + len(self.tokens)

    @classmethod
    def fit(cls, texts: Sequence[str], max_tokens: int, min_df: int, length: int) -> TokenVocabulary:
        """The `max_tokens` words in most texts (at least `min_df`), ties alphabetical: deterministic."""
        df: Counter[str] = Counter()
        for text in texts:
            df.update(set(tokenize(text)))
        ranked = sorted((t for t, n in df.items() if n >= min_df), key=lambda t: (-df[t], t))
        return cls(tokens=tuple(ranked[:max_tokens]), length=length)

    def ids(self, text: str) -> list[int]:
        index = self._index  # type: ignore[attr-defined]
        return [index.get(token, OOV) for token in tokenize(text)]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """int32 [len(texts), length]: each text's first `length` token ids, then padding."""
        out = np.zeros((len(texts), self.length), dtype=np.int32)
        for row, text in enumerate(texts):
            ids = self.ids(text)[: self.length]
            out[row, : len(ids)] = ids
        return out

    def token_stats(self, text: str) -> tuple[int, int]:
        ids = self.ids(text)
        return len(ids), ids.count(OOV)

    def to_json(self) -> str:
        doc = {"schema": TOKEN_VOCABULARY_SCHEMA, "kind": KIND, "length": self.length, "tokens": list(self.tokens)}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> TokenVocabulary:
        doc = json.loads(raw)
        if not isinstance(doc, dict) or doc.get("kind") != KIND or doc.get("schema") != TOKEN_VOCABULARY_SCHEMA:
            raise ValueError(f"not a {KIND} vocabulary of schema {TOKEN_VOCABULARY_SCHEMA}")
        return cls(tokens=tuple(str(t) for t in doc["tokens"]), length=int(doc["length"]))

    def save(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> TokenVocabulary:
        return cls.from_json(path.read_text(encoding="utf-8"))


class TokenIdsFeaturizer:
    def __init__(self, vocabulary: TokenVocabulary) -> None:
        self.vocabulary = vocabulary

    @classmethod
    def load(cls, path: Path, signature: tuple[InputSpec, ...]) -> TokenIdsFeaturizer:
        vocabulary = TokenVocabulary.load(path)
        if len(signature) != 1 or signature[0].dtype != "int32" or signature[0].shape[1] != vocabulary.length:
            raise ArtifactError(
                f"the token-id featurizer feeds one int32 input [batch, {vocabulary.length}], "
                f"not the artifact's inputs {signature}"
            )
        return cls(vocabulary)

    def inputs(self, texts: Sequence[str]) -> tuple[np.ndarray, ...]:
        return (self.vocabulary.encode(texts),)

    def token_stats(self, text: str) -> tuple[int, int]:
        return self.vocabulary.token_stats(text)
