"""The model interface, training side: one module per architecture, looked up by name.

An architecture is an object with

  name, version                 recorded in the artifact's metadata (`architecture`); the
                                service's featurizer table (`sentiment.featurizers.FEATURIZERS`) is keyed
                                by the name and checks the version
  fit_state(texts, labels, p)   the feature/tokenizer state learned from the training texts: an
                                object with `save(path)` writing JSON (never pickle), read back
                                by `load_state(path)` here and by the featurizer in the service
  fit(state, train, val, p)     the trained Keras model (seeded: same inputs, same weights)
  keras_inputs(state, texts)    the Keras model's input for texts (the gate's parity check)
  export(model, state, path)    writes the LiteRT flatbuffer (builtin ops only) and returns its
                                input signature: names, shapes (None = any size), dtypes, in the
                                order the featurizer produces the arrays
  describe(state)               one line for the training log

`p` is the architecture's hyper-parameters (`pipeline.ml.hyperparameters.PARAMETERS[name]`).
Modules are imported on first use: TensorFlow starts only when an architecture is needed.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from sentiment.artifact import InputSpec

ARCHITECTURES = {
    "ngram": "pipeline.ml.architectures.ngram",
    "bilstm": "pipeline.ml.architectures.bilstm",
}


class FeatureState(Protocol):
    def save(self, path: Path) -> None: ...


class Architecture(Protocol):
    name: str
    version: int

    def fit_state(self, texts: Sequence[str], labels: np.ndarray, params: Any) -> Any: ...

    def load_state(self, path: Path) -> Any: ...

    def fit(
        self,
        state: Any,
        train: tuple[list[str], np.ndarray],
        val: tuple[list[str], np.ndarray],
        params: Any,
        verbose: int = 2,
    ) -> Any: ...

    def keras_inputs(self, state: Any, texts: Sequence[str]) -> np.ndarray: ...

    def export(self, model: Any, state: Any, path: Path) -> tuple[InputSpec, ...]: ...

    def describe(self, state: Any) -> str: ...


class UnknownArchitecture(ValueError):
    pass


def get(name: str) -> Architecture:
    if name not in ARCHITECTURES:
        raise UnknownArchitecture(f"unknown architecture {name!r} (known: {', '.join(ARCHITECTURES)})")
    return importlib.import_module(ARCHITECTURES[name]).ARCHITECTURE


def source_file(name: str) -> Path:
    """The architecture's module, whose code is part of the training inputs' hash."""
    spec = importlib.util.find_spec(ARCHITECTURES[name])
    if spec is None or spec.origin is None:
        raise UnknownArchitecture(f"architecture {name!r}: module {ARCHITECTURES[name]} not found")
    return Path(spec.origin)
