"""Live traffic against a model version's reference profile: population stability index per feature.

PSI = sum over buckets of (live - reference) * ln(live / reference), on bucket shares; an
empty bucket's share is floored at FLOOR so the index stays finite. Rules of thumb: < 0.1 no
shift, 0.1-0.25 some, > 0.25 a different population. The thresholds live in
quality_gates/monitor.toml with their reasons.

Live counts come from the Prometheus histograms of `sentiment.metrics` (cumulative `le`
buckets), reference counts from `profile.json`; both use the edges of `sentiment.buckets`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.live_metrics.samples import FEATURE_METRICS, Key, cumulative, per_bucket, total
from pipeline.reports import CheckResult

FLOOR = 1e-4


def shares(counts: Sequence[float]) -> list[float]:
    observed = sum(counts)
    if observed <= 0:
        raise ValueError("no observations")
    return [max(c / observed, FLOOR) for c in counts]


def psi(reference: Sequence[float], live: Sequence[float]) -> float:
    if len(reference) != len(live):
        raise ValueError(f"{len(reference)} reference buckets but {len(live)} live ones")
    return sum((b - a) * math.log(b / a) for a, b in zip(shares(reference), shares(live), strict=True))


@dataclass(frozen=True)
class LiveFeature:
    counts: list[float]  # per bucket, the profile's edges + the open bucket
    total: float
    mean: float | None


def live_feature(window: Mapping[Key, float], feature: str, edges: Sequence[float]) -> LiveFeature:
    metric = FEATURE_METRICS[feature]
    counts = per_bucket(cumulative(window, metric), edges)
    n = sum(counts)
    return LiveFeature(counts, n, total(window, f"{metric}_sum") / n if n else None)


def _share(counts: Sequence[float], edges: Sequence[float], above: float | None, upto: float | None) -> float:
    """Share of observations in (above, upto]: both must be bucket edges (None: unbounded)."""
    bounds = [*[float(e) for e in edges], math.inf]
    lows = [-math.inf, *bounds[:-1]]
    inside = sum(
        c
        for c, low, high in zip(counts, lows, bounds, strict=True)
        if (above is None or low >= above) and (upto is None or high <= upto)
    )
    return inside / sum(counts)


def _check_edges(edges: Sequence[float], *values: float | None) -> None:
    for value in values:
        if value is not None and float(value) not in [float(e) for e in edges]:
            raise ValueError(f"{value} is not a bucket edge ({list(edges)})")


def drift_checks(window: Mapping[Key, float], profile: dict[str, Any], config: dict[str, Any]) -> list[CheckResult]:
    """One check per [drift.*] table of the config; skipped (passed, value "n/a") below min_texts."""
    min_texts = int(config["window"]["min_texts"])
    checks = []
    features = profile["features"]
    live = {
        name: live_feature(window, name, feature["edges"])
        for name, feature in features.items()
        if name in FEATURE_METRICS
    }
    texts = live["score"].total
    for name, rule in config.get("drift", {}).items():
        limit = float(rule["max"])
        statistic = rule["statistic"]
        label = f"drift.{name}"
        if texts < min_texts:
            checks.append(CheckResult(label, True, "n/a", f"<= {limit:g}", f"only {texts:g} texts (< {min_texts})"))
            continue
        if name == "positive_share":
            positive = total(window, "sentiment_predictions_total", label="positive")
            scored = total(window, "sentiment_predictions_total")
            value = abs(positive / scored - float(profile["positive_share"])) if scored else 0.0
            detail = f"live {positive / scored if scored else 0:.3f}, reference {profile['positive_share']:.3f}"
        else:
            reference, now = features[name], live[name]
            edges = reference["edges"]
            population = psi(reference["counts"], now.counts)
            if statistic == "mean_increase":
                value = (now.mean or 0.0) - float(reference["mean"])
                detail = f"live mean {now.mean:.3f}, reference {reference['mean']:.3f}; PSI {population:.2f}"
            elif statistic == "share_increase":
                above, upto = rule.get("above"), rule.get("upto")
                _check_edges(edges, above, upto)
                live_share = _share(now.counts, edges, above, upto)
                ref_share = _share(reference["counts"], edges, above, upto)
                value = live_share - ref_share
                span = f"({'-inf' if above is None else above}, {'inf' if upto is None else upto}]"
                detail = f"share in {span}: live {live_share:.3f}, reference {ref_share:.3f}; PSI {population:.2f}"
            else:
                raise ValueError(f"[drift.{name}]: unknown statistic {statistic!r}")
        checks.append(CheckResult(label, value <= limit, round(value, 4), f"<= {limit:g}", detail))
    return checks
