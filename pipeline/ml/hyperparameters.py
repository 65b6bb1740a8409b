"""The training settings of each architecture: its features and sizes and how it is fitted. No
TensorFlow here, so a command line can read and check them before TensorFlow's slow, noisy start-up.

Each architecture's class names the architecture (`ARCHITECTURE`, the key of
`pipeline.ml.architectures.ARCHITECTURES`) and has `seed`, `as_dict` (flat, as recorded in
the metadata) and `from_flat` (its inverse, refusing unknown names)."""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

from pipeline.records import Blessing
from sentiment.artifact import METADATA_FILE
from sentiment.text import FeatureConfig

# Scores at or above this are "positive". Written into each artifact's metadata at training;
# the runtime and the evaluation read it from there.
DECISION_THRESHOLD = 0.5


class Parameters(Protocol):
    ARCHITECTURE: ClassVar[str]
    seed: int
    max_epochs: int

    def as_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_flat(cls, values: dict[str, Any]) -> Self: ...


@dataclass(frozen=True)
class NgramParameters:
    """The n-gram model's (the default architecture)."""

    ARCHITECTURE: ClassVar[str] = "ngram"
    features: FeatureConfig = field(default_factory=FeatureConfig)
    l2: float = 2.5e-5  # = 1 / (2 C n) for C = 2, n = 10,200: scikit-learn's default strength
    dropout: float = 0.0
    learning_rate: float = 1e-2
    batch_size: int = 64
    max_epochs: int = 40
    patience: int = 3
    seed: int = 42

    def as_dict(self) -> dict[str, float | int]:
        """One flat mapping (feature settings and training settings), as recorded in the metadata."""
        return {
            **asdict(self.features),
            **{f.name: getattr(self, f.name) for f in fields(self) if f.name != "features"},
        }

    @classmethod
    def from_flat(cls, values: dict[str, Any]) -> NgramParameters:
        """The inverse of as_dict; names that are neither a feature nor a training setting are refused."""
        feature_names = {f.name for f in fields(FeatureConfig)}
        features = FeatureConfig(**{k: v for k, v in values.items() if k in feature_names})
        return cls(features=features, **{k: v for k, v in values.items() if k not in feature_names})


@dataclass(frozen=True)
class BiLSTMParameters:
    """The BiLSTM's: token vocabulary, sequence length and layer sizes, and how it is fitted.

    The defaults reach about 0.75 held-out accuracy in about a minute on two cores; the LSTM
    overfits after two or three epochs, so early stopping keeps the best epoch."""

    ARCHITECTURE: ClassVar[str] = "bilstm"
    max_tokens: int = 20000  # words in the vocabulary, besides padding and out-of-vocabulary
    min_df: int = 2
    sequence_length: int = 48  # 99% of the corpus' texts have at most 41 words
    embedding_dim: int = 64
    lstm_units: int = 32  # per direction
    dropout: float = 0.3
    learning_rate: float = 2e-3
    batch_size: int = 64
    max_epochs: int = 8
    patience: int = 2
    seed: int = 42

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_flat(cls, values: dict[str, Any]) -> BiLSTMParameters:
        return cls(**values)


PARAMETERS: dict[str, type[NgramParameters] | type[BiLSTMParameters]] = {
    cls.ARCHITECTURE: cls for cls in (NgramParameters, BiLSTMParameters)
}
DEFAULT_ARCHITECTURE = NgramParameters.ARCHITECTURE


class OutputDirError(Exception):
    """The output directory holds something other than a model artifact."""


def _artifact_files(out_dir: Path) -> set[str] | None:
    """The names a model artifact in `out_dir` says it holds (its metadata's `files`, the metadata and a
    blessing), or None when its metadata.json is not a model artifact's."""
    try:
        metadata = json.loads((out_dir / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    files = metadata.get("files") if isinstance(metadata, dict) else None
    if not isinstance(files, dict) or not isinstance(metadata.get("version"), str):
        return None
    return {*map(str, files), METADATA_FILE, Blessing.NAME}


def check_output_dir(out_dir: Path) -> None:
    """Training replaces `out_dir` whole, so it must be empty or a previous artifact: never someone's files.
    A previous artifact holds only the files its metadata lists (a metadata.json alone proves nothing)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputDirError(f"{out_dir} exists and is not a directory")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    known = _artifact_files(out_dir)
    if known is None:
        raise OutputDirError(f"{out_dir} is not empty and holds no model artifact; refusing to replace it")
    foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in known or not p.is_file() or p.is_symlink())
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise OutputDirError(
            f"{out_dir} holds files that are not part of its model artifact ({shown}); refusing to replace it"
        )


def replace_dir(src: Path, dst: Path) -> None:
    """Swap a finished artifact into place so a failed run never leaves a half-written candidate. The
    previous one is moved aside into a directory of its own, never onto a name someone else may use."""
    aside = Path(tempfile.mkdtemp(prefix=f".{dst.name}-previous-", dir=dst.parent))
    previous = aside / dst.name
    try:
        if dst.exists():
            dst.rename(previous)
        try:
            src.rename(dst)
        except OSError:
            if previous.exists():
                previous.rename(dst)
            raise
    finally:
        shutil.rmtree(aside, ignore_errors=True)
