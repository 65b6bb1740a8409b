"""A window of live samples, as `scrape`, Prometheus and CloudWatch give it, and the histogram math on it.

A window maps (sample name, sorted label pairs) to a value: counters and histogram buckets as their
increase over the window, gauges as they are now. Histograms are Prometheus' cumulative `le` buckets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

Key = tuple[str, tuple[tuple[str, str], ...]]
# The service's histogram of each text feature and of the score (sentiment.metrics)
FEATURE_METRICS = {
    "text_chars": "sentiment_text_chars",
    "text_tokens": "sentiment_text_tokens",
    "oov_share": "sentiment_text_oov_share",
    "score": "sentiment_prediction_score",
}


def select(window: Mapping[Key, float], name: str, **labels: str) -> list[tuple[dict[str, str], float]]:
    """(labels, value) of every sample `name` whose labels include `labels`."""
    found = []
    for (sample, pairs), value in window.items():
        got = dict(pairs)
        if sample == name and all(got.get(k) == v for k, v in labels.items()):
            found.append((got, value))
    return found


def total(window: Mapping[Key, float], name: str, **labels: str) -> float:
    return sum(value for _, value in select(window, name, **labels))


def cumulative(window: Mapping[Key, float], name: str, **labels: str) -> dict[float, float]:
    """{le: count} of a histogram, summed over its other labels."""
    out: dict[float, float] = {}
    for got, value in select(window, f"{name}_bucket", **labels):
        le = float(got["le"])
        out[le] = out.get(le, 0.0) + value
    return out


def per_bucket(cumulative: Mapping[float, float], edges: Sequence[float]) -> list[float]:
    """Per-bucket counts (len(edges) + 1) from Prometheus' cumulative buckets {le: count}, +Inf included.
    Raises ValueError when the live edges are not `edges` (a service and a profile of other edges)."""
    finite = sorted(le for le in cumulative if math.isfinite(le))
    if [float(e) for e in edges] != finite or math.inf not in cumulative:
        raise ValueError(f"live bucket edges {finite} are not the profile's {list(edges)}")
    running = [cumulative[le] for le in (*finite, math.inf)]
    return [max(0.0, now - before) for before, now in zip([0.0, *running[:-1]], running, strict=True)]


def quantile(cumulative: Mapping[float, float], q: float) -> float | None:
    """The q-quantile from cumulative buckets, interpolated linearly inside a bucket as PromQL's
    histogram_quantile does; None without observations; the highest finite edge when it falls in +Inf."""
    bounds = sorted(cumulative)
    total = cumulative.get(math.inf, 0.0)
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for le in bounds:
        count = cumulative[le]
        if count >= rank:
            if not math.isfinite(le):
                return lower
            return lower + (le - lower) * ((rank - below) / (count - below) if count > below else 1.0)
        lower, below = le, count
    return lower
