"""The reference profile of a model version: what its held-out texts and their scores look like.

Written at training into the artifact (`sentiment.buckets.PROFILE_FILE`, listed with its
sha256 in the metadata's `files`, so it is published to the model registry with the version) and
read by `python -m pipeline.monitor`, which compares live traffic with it. It uses only the
serving model's public interface (`scores`, `token_stats`, `threshold`), whatever the
architecture, and the bucket edges of `sentiment.buckets`, which /metrics uses too.

  {"schema": 1, "model_version", "created" (training date), "data_fingerprint", "split",
   "examples", "positive_share", "decision_threshold",
   "features": {"text_chars" | "text_tokens" | "oov_share" | "score":
                {"edges": [...], "counts": [... len(edges) + 1, the last for values above every edge],
                 "mean": the exact mean, as a live histogram's _sum / _count}}}
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from sentiment import buckets


class ServingModel(Protocol):
    threshold: float

    def scores(self, texts: Sequence[str]) -> Any: ...

    def token_stats(self, text: str) -> tuple[int, int]: ...


BATCH = 256


def build(model: ServingModel, texts: Sequence[str], metadata: dict[str, Any], split: str) -> dict[str, Any]:
    """The profile document of `texts` (the held-out split) as the exported model sees and scores them."""
    features = [buckets.text_features(text, model.token_stats) for text in texts]
    scores = [float(s) for start in range(0, len(texts), BATCH) for s in model.scores(texts[start : start + BATCH])]
    if not all(math.isfinite(s) for s in scores):
        raise ValueError("the model gives non-finite scores on the held-out split; no profile is written")
    columns = {
        "text_chars": [f.chars for f in features],
        "text_tokens": [f.tokens for f in features],
        "oov_share": [f.oov_share for f in features],
        "score": scores,
    }
    return {
        "schema": buckets.PROFILE_SCHEMA,
        "model_version": metadata["version"],
        "created": metadata["created"],
        "data_fingerprint": metadata["data"]["fingerprint"],
        "split": split,
        "examples": len(texts),
        "decision_threshold": model.threshold,
        "positive_share": round(sum(s >= model.threshold for s in scores) / max(len(scores), 1), 6),
        "features": {
            name: {
                "edges": list(edges),
                "counts": buckets.bucket_counts(columns[name], edges),
                "mean": round(sum(columns[name]) / max(len(texts), 1), 6),
            }
            for name, edges in buckets.FEATURE_EDGES.items()
        },
    }


def write(directory: Path, model: ServingModel, texts: Sequence[str], metadata: dict[str, Any]) -> str:
    """Write the profile of the held-out `texts` into the artifact directory; returns its sha256
    (for the metadata's `files`)."""
    body = (json.dumps(build(model, texts, metadata, split="test"), indent=2, sort_keys=True) + "\n").encode()
    (directory / buckets.PROFILE_FILE).write_bytes(body)
    return hashlib.sha256(body).hexdigest()
