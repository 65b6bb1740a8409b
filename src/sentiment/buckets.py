"""What training and serving both measure about texts and scores, with one set of bucket edges.

The reference profile (`profile.json` in the model artifact, written at training from the
held-out split) and the live Prometheus histograms at /metrics bucket the same per-text
features at the same edges, so `python -m pipeline.monitor` can compare the two bucket by
bucket (population stability index). Changing an edge changes both sides; a profile records
its edges, and the monitor refuses to compare a profile whose edges differ from these.

Buckets follow Prometheus: bucket i holds values <= EDGES[i] (and above the edge before);
a last, open bucket holds the rest (`le="+Inf"`).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

PROFILE_FILE = "profile.json"
PROFILE_SCHEMA = 1

# Characters per text: the service accepts 1..10,000 (sentiment.limits.MAX_TEXT_CHARS).
TEXT_CHARS_EDGES: tuple[float, ...] = (16, 32, 64, 96, 128, 192, 256, 384, 512, 1024, 2048, 4096)
# Tokens per text (sentiment.text.tokenize): 0 means nothing the tokenizer reads (e.g. other scripts).
TEXT_TOKENS_EDGES: tuple[float, ...] = (0, 2, 4, 8, 12, 16, 24, 32, 48, 64, 128, 256)
# Share of a text's tokens that are not word terms of the vocabulary; a text without tokens counts as 1.0.
OOV_SHARE_EDGES: tuple[float, ...] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 0.99)
# P(positive); the service's score histogram (sentiment_prediction_score) has always used these.
SCORE_EDGES: tuple[float, ...] = tuple(i / 10 for i in range(1, 11))

# Seconds the application takes to answer a request (not a profile feature: no reference to compare with),
# bucketed alike at /metrics and in CloudWatch.
LATENCY_EDGES: tuple[float, ...] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

FEATURE_EDGES: dict[str, tuple[float, ...]] = {
    "text_chars": TEXT_CHARS_EDGES,
    "text_tokens": TEXT_TOKENS_EDGES,
    "oov_share": OOV_SHARE_EDGES,
    "score": SCORE_EDGES,
}

TokenStats = Callable[[str], tuple[int, int]]


@dataclass(frozen=True)
class TextFeatures:
    chars: int
    tokens: int
    oov_share: float


def text_features(text: str, stats: TokenStats) -> TextFeatures:
    tokens, unknown = stats(text)
    return TextFeatures(chars=len(text), tokens=tokens, oov_share=unknown / tokens if tokens else 1.0)


def bucket_counts(values: Iterable[float], edges: Sequence[float]) -> list[int]:
    """Counts per bucket, len(edges) + 1 of them (the last is the open `+Inf` bucket)."""
    counts = [0] * (len(edges) + 1)
    for value in values:
        counts[bisect.bisect_left(edges, value)] += 1  # value == edge falls in that edge's bucket (le)
    return counts
