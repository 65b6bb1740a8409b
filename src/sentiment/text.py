"""Text -> model input, shared by training and serving so the two cannot disagree.

String operations cannot run inside the LiteRT runtime, so the text is turned
into n-gram counts here in Python; the features are

  word n-grams (n <= max_n) and character n-grams of each padded word,
  each block weighted by sublinear tf * idf and L2-normalised on its own,
  then scaled per term by the naive-Bayes log-count ratio learned at training
  (the NB-SVM recipe of Wang & Manning, 2012).

Training builds them with numpy (`features`); the exported serving model computes
them itself from the counts (`count_rows`), and the gate's parity check compares the two.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VOCABULARY_SCHEMA = 2
MIN_SPARSE_WIDTH = 64
# The token cache is bounded in bytes, not entries: requests choose their tokens, and a cache
# that kept any token could be grown by random words to GBs per worker. Real words are short,
# so only tokens up to MAX_CACHED_TOKEN_CHARS are kept (longer ones are computed every time).
# When the entries add up to TOKEN_CACHE_BYTES (about 30,000 English words) the cache starts
# afresh: random words cannot crowd out the real ones for good, and hits stay a bare dict lookup.
TOKEN_CACHE_BYTES = 8 * 2**20
MAX_CACHED_TOKEN_CHARS = 40
# Per entry beyond the characters and column bytes: the str and bytes object headers
# (49 + 33), the dict's share of its tables at the worst fill (about 90), allocator rounding.
TOKEN_CACHE_ENTRY_OVERHEAD = 192
CHAR_MARK = "#"  # prefixes character n-grams; "#" never occurs in a word token

# Keep apostrophes inside words ("don't", "isn't") because negation matters for
# sentiment; everything else that is not a letter or digit separates tokens.
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def standardize(text: str) -> str:
    """Lower-case, fold accents and unify apostrophes."""
    if not text.isascii():  # most requests are ASCII: skip the per-character pass
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.lower().replace("\u2019", "'").replace("`", "'")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(standardize(text))


def word_ngrams(tokens: Sequence[str], max_n: int) -> list[str]:
    grams = list(tokens)
    for n in range(2, max_n + 1):
        grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return grams


def char_ngrams(tokens: Sequence[str], min_n: int, max_n: int) -> list[str]:
    grams = []
    for token in tokens:
        padded = f" {token} "
        for n in range(min_n, min(max_n, len(padded)) + 1):
            grams.extend(CHAR_MARK + padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


@dataclass(frozen=True)
class FeatureConfig:
    max_word_terms: int = 30000
    max_char_terms: int = 40000
    word_max_n: int = 2
    char_min_n: int = 2
    char_max_n: int = 5
    min_df: int = 2


def _grams(text: str, config: FeatureConfig) -> tuple[list[str], list[str]]:
    tokens = tokenize(text)
    return word_ngrams(tokens, config.word_max_n), char_ngrams(tokens, config.char_min_n, config.char_max_n)


@dataclass(frozen=True)
class Vocabulary:
    """Word terms then character terms; a term's column is its position in `terms`."""

    config: FeatureConfig
    terms: tuple[str, ...]
    idf: tuple[float, ...]
    ratio: tuple[float, ...]  # naive-Bayes log-count ratio, positive = evidence for "positive"

    def __post_init__(self) -> None:
        if not len(self.terms) == len(self.idf) == len(self.ratio):
            raise ValueError("vocabulary terms, idf and ratio differ in length")
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(self.terms)})
        object.__setattr__(self, "_idf", np.asarray(self.idf, dtype=np.float32))
        object.__setattr__(self, "_ratio", np.asarray(self.ratio, dtype=np.float32))
        object.__setattr__(self, "_token_cache", {})
        # A one-item list so the frozen instance can count down without object.__setattr__ per miss.
        object.__setattr__(self, "_token_cache_room", [TOKEN_CACHE_BYTES])
        first_char_term = next((i for i, t in enumerate(self.terms) if t.startswith(CHAR_MARK)), len(self.terms))
        object.__setattr__(self, "_n_word_terms", first_char_term)

    @property
    def size(self) -> int:
        return len(self.terms)

    @classmethod
    def fit(cls, texts: Sequence[str], labels: Sequence[int], config: FeatureConfig) -> Vocabulary:
        """Most frequent terms by document frequency (ties alphabetical, so fitting is deterministic)."""
        docs = [tuple(set(block) for block in _grams(t, config)) for t in texts]
        df_word: Counter[str] = Counter()
        df_char: Counter[str] = Counter()
        for words, chars in docs:
            df_word.update(words)
            df_char.update(chars)
        terms: list[str] = []
        for df, limit in ((df_word, config.max_word_terms), (df_char, config.max_char_terms)):
            ranked = sorted((t for t, n in df.items() if n >= config.min_df), key=lambda t: (-df[t], t))
            terms.extend(ranked[:limit])
        n_docs = len(docs)
        df_all = df_word | df_char
        # Smoothed idf (as scikit-learn's) keeps every weight finite and positive.
        idf = [round(math.log((1 + n_docs) / (1 + df_all[t])) + 1.0, 6) for t in terms]

        index = {t: i for i, t in enumerate(terms)}
        pos = np.ones(len(terms))  # add-one smoothing
        neg = np.ones(len(terms))
        for (words, chars), label in zip(docs, labels, strict=True):
            cols = [index[g] for g in words | chars if g in index]
            (pos if label == 1 else neg)[cols] += 1
        ratio = np.log((pos / pos.sum()) / (neg / neg.sum()))
        return cls(config=config, terms=tuple(terms), idf=tuple(idf), ratio=tuple(round(float(r), 6) for r in ratio))

    @property
    def n_word_terms(self) -> int:
        """Columns below this are word n-grams, the rest character n-grams."""
        return self._n_word_terms  # type: ignore[attr-defined]

    def _token_columns(self, token: str) -> bytes:
        """int32 columns of the token as a word and of its character n-grams, memoised as raw
        bytes: the same words recur in every request, and bytes join without Python loops."""
        cached = self._token_cache.get(token)  # type: ignore[attr-defined]
        if cached is None:
            index, config = self._index, self.config  # type: ignore[attr-defined]
            grams = [token, *char_ngrams([token], config.char_min_n, config.char_max_n)]
            cached = array("i", [index[g] for g in grams if g in index]).tobytes()
            if len(token) <= MAX_CACHED_TOKEN_CHARS:  # tokens are ASCII: characters are bytes
                room = self._token_cache_room  # type: ignore[attr-defined]
                cost = len(token) + len(cached) + TOKEN_CACHE_ENTRY_OVERHEAD
                if room[0] < cost:
                    # Threads racing here can leave an entry or two uncounted, never an unbounded number.
                    self._token_cache.clear()  # type: ignore[attr-defined]
                    room[0] = TOKEN_CACHE_BYTES
                room[0] -= cost
                self._token_cache[token] = cached  # type: ignore[attr-defined]
        return cached

    def token_stats(self, text: str) -> tuple[int, int]:
        """(word tokens, of which not a word term of the vocabulary): for monitoring."""
        index = self._index  # type: ignore[attr-defined]
        tokens = tokenize(text)
        return len(tokens), sum(1 for token in tokens if token not in index)

    def token_cache_bytes(self) -> int:
        """Bytes the token cache holds by the same count that bounds it (at most TOKEN_CACHE_BYTES)."""
        return TOKEN_CACHE_BYTES - self._token_cache_room[0]  # type: ignore[attr-defined]

    def term_counts(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(columns int32 ascending, occurrences int64) of the terms of the text the vocabulary knows."""
        index = self._index  # type: ignore[attr-defined]
        tokens = tokenize(text)
        longer_grams = word_ngrams(tokens, self.config.word_max_n)[len(tokens) :]  # unigrams come per token
        raw = b"".join(map(self._token_columns, tokens)) + array("i", [index[g] for g in longer_grams if g in index])
        columns = np.sort(np.frombuffer(raw, dtype=np.int32))
        # Each run of equal columns is one term; a run starts wherever the value changes.
        n = len(columns)
        edges = np.empty(n + 1, dtype=bool)
        edges[0] = edges[n] = True
        np.not_equal(columns[1:], columns[:-1], out=edges[1:n])
        bounds = np.flatnonzero(edges)
        return columns[bounds[:-1]], np.diff(bounds)

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Sparse features of one text: (column indices int32, ascending; values float32).

        Per block (words, characters): sublinear tf x idf, L2-normalised, then scaled by
        the naive-Bayes ratio. The serving model computes the same from `count_rows`.
        """
        cols, counts = self.term_counts(text)
        values = (1.0 + np.log(counts, dtype=np.float32)) * self._idf[cols]  # type: ignore[attr-defined]
        is_word = cols < self.n_word_terms
        for block in (is_word, ~is_word):
            norm = np.sqrt(np.sum(values[block] ** 2))
            if norm:
                values[block] /= norm
        return cols, (values * self._ratio[cols]).astype(np.float32)  # type: ignore[attr-defined]

    def vectorize(self, texts: Sequence[str]) -> np.ndarray:
        """Dense feature rows, float32 [len(texts), size]: the Keras model's input (training, parity)."""
        out = np.zeros((len(texts), self.size), dtype=np.float32)
        for row, text in enumerate(texts):
            cols, values = self.features(text)
            out[row, cols] = values
        return out

    def count_rows(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(ids int32, counts float32), both [len(texts), n]: the serving model's input.

        Only counting happens here; the weighting of `features` runs inside the model,
        in compiled code (a dozen small numpy calls per request cost more than the model).
        n is a power of two (at least 64) so that similar requests share one input shape
        and the interpreter is not re-allocated per call; padding is id 0 with count 0.
        """
        rows = [self.term_counts(text) for text in texts]
        width = max(MIN_SPARSE_WIDTH, 1 << (max(len(cols) for cols, _ in rows) - 1).bit_length())
        ids = np.zeros((len(texts), width), dtype=np.int32)
        counts = np.zeros((len(texts), width), dtype=np.float32)
        for row, (cols, n) in enumerate(rows):
            ids[row, : len(cols)] = cols
            counts[row, : len(n)] = n
        return ids, counts

    def to_json(self) -> str:
        doc = {
            "schema": VOCABULARY_SCHEMA,
            "config": self.config.__dict__,
            "terms": list(self.terms),
            "idf": list(self.idf),
            "ratio": list(self.ratio),
        }
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> Vocabulary:
        doc = json.loads(raw)
        if doc.get("schema") != VOCABULARY_SCHEMA:
            raise ValueError(f"unsupported vocabulary schema {doc.get('schema')!r}")
        return cls(
            config=FeatureConfig(**doc["config"]),
            terms=tuple(doc["terms"]),
            idf=tuple(float(x) for x in doc["idf"]),
            ratio=tuple(float(x) for x in doc["ratio"]),
        )

    def save(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        return cls.from_json(path.read_text(encoding="utf-8"))
