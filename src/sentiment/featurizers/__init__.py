"""Text -> the serving model's inputs: one featurizer per architecture, chosen by the artifact's metadata.

The serving half of the model interface (the training half is `pipeline.ml.architectures`).
A featurizer is built from the artifact's feature state (`vocabulary.json`) and its input
signature (metadata `inputs`), and has two methods:

  inputs(texts)     -> one array per signature input, in signature order, each [len(texts), n]
                       (the sequence dimension already padded to the signature's size if fixed;
                       the runtime splits or pads the batch dimension)
  token_stats(text) -> (word tokens, of which out of vocabulary), for monitoring

The runtime looks the featurizer up by the metadata's architecture name and checks its version
here, in one place; nothing else in the service knows which architectures exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from sentiment import artifact
from sentiment.artifact import ArtifactError, InputSpec
from sentiment.featurizers.ngram import NGramFeaturizer
from sentiment.featurizers.token_ids import TokenIdsFeaturizer


class Featurizer(Protocol):
    def inputs(self, texts: Sequence[str]) -> tuple[np.ndarray, ...]: ...

    def token_stats(self, text: str) -> tuple[int, int]: ...


@dataclass(frozen=True)
class Registration:
    version: int  # the architecture version whose artifacts this featurizer reads
    load: Callable[[Path, tuple[InputSpec, ...]], Featurizer]


FEATURIZERS: dict[str, Registration] = {
    "ngram": Registration(1, NGramFeaturizer.load),
    "bilstm": Registration(1, TokenIdsFeaturizer.load),
}


def load(directory: Path, metadata: Mapping[str, Any]) -> Featurizer:
    """The featurizer for a verified artifact, or ArtifactError naming what this service cannot read."""
    name, version = artifact.architecture(metadata)
    registration = FEATURIZERS.get(name)
    if registration is None:
        known = ", ".join(sorted(FEATURIZERS))
        raise ArtifactError(f"architecture {name!r} has no featurizer in this service (known: {known})")
    if version != registration.version:
        raise ArtifactError(
            f"architecture {name} version {version} is not served by this service (it reads version "
            f"{registration.version}); retrain, or serve it with the code it was trained with"
        )
    return registration.load(directory / artifact.VOCABULARY_FILE, artifact.input_signature(metadata))
