"""Live traffic against a model version's reference profile: population stability index per feature.

PSI = sum over buckets of (live - reference) * ln(live / reference), on bucket shares; an
empty bucket's share is floored at FLOOR so the index stays finite. Rules of thumb: < 0.1 no
shift, 0.1-0.25 some, > 0.25 a different population. The thresholds live in
quality_gates/monitor.toml with their reasons.

Live counts come from the Prometheus histograms of `sentiment.metrics` (cumulative `le`
buckets), reference counts from `profile.json`; both use the edges of `sentiment.monitoring`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.reports import CheckResult

FLOOR = 1e-4


def shares(counts: Sequence[float]) -> list[float]:
    total = sum(counts)
    if total <= 0:
        raise ValueError("no observations")
    return [max(c / total, FLOOR) for c in counts]


def psi(reference: Sequence[float], live: Sequence[float]) -> float:
    if len(reference) != len(live):
        raise ValueError(f"{len(reference)} reference buckets but {len(live)} live ones")
    return sum((b - a) * math.log(b / a) for a, b in zip(shares(reference), shares(live), strict=True))


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


# --- judging a window of live samples against a profile ---------------------------------------------

Key = tuple[str, tuple[tuple[str, str], ...]]
FEATURE_METRICS = {
    "text_chars": "sentiment_text_chars",
    "text_tokens": "sentiment_text_tokens",
    "oov_share": "sentiment_text_oov_share",
    "score": "sentiment_prediction_score",
}


@dataclass(frozen=True)
class LiveFeature:
    counts: list[float]  # per bucket, the profile's edges + the open bucket
    total: float
    mean: float | None


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


def _counts(*values: float) -> bool:
    """True if every value is a count: finite and not negative (a page can say anything)."""
    return all(math.isfinite(v) and v >= 0 for v in values)


def health_checks(
    window: Mapping[Key, float], model_age_seconds: float | None, config: dict[str, Any]
) -> list[CheckResult]:
    """One check per [health.*] table. Too little traffic, or a value that is no count, is inconclusive:
    reported as such and never as a pass."""
    health = config.get("health", {})
    checks = []
    requests = total(window, "sentiment_requests_total")
    if "error_rate" in health:
        rule = health["error_rate"]
        errors = sum(
            v for got, v in select(window, "sentiment_requests_total") if got.get("status", "").startswith("5")
        )
        limit, least = float(rule["max"]), int(rule.get("min_requests", 1))
        expected = f"<= {limit:g}"
        if not _counts(requests, errors, *(v for _, v in select(window, "sentiment_requests_total"))):
            checks.append(CheckResult.without_data("health.error_rate", expected, "request counts that are no counts"))
        elif requests < least:
            checks.append(CheckResult.without_data("health.error_rate", expected, f"{requests:g} requests (< {least})"))
        else:
            rate = errors / requests
            checks.append(
                CheckResult(
                    "health.error_rate",
                    rate <= limit,
                    round(rate, 4),
                    expected,
                    f"{errors:g} 5xx of {requests:g} requests",
                )
            )
    if "p99_seconds" in health:
        rule = health["p99_seconds"]
        limit, least = float(rule["max"]), int(rule.get("min_requests", 1))
        expected = f"<= {limit:g}"
        buckets = cumulative(window, "sentiment_request_seconds", route="/predict")
        predicts = buckets.get(math.inf, 0.0)
        if not _counts(*buckets.values()):
            checks.append(
                CheckResult.without_data("health.p99_seconds", expected, "latency buckets that are no counts")
            )
        elif predicts < least or (p99 := quantile(buckets, 0.99)) is None:
            checks.append(
                CheckResult.without_data("health.p99_seconds", expected, f"{predicts:g} /predict (< {least})")
            )
        else:
            checks.append(
                CheckResult(
                    "health.p99_seconds", p99 <= limit, round(p99, 4), expected, f"/predict, {predicts:g} requests"
                )
            )
    if "model_age_days" in health:
        limit = float(health["model_age_days"]["max"])
        if model_age_seconds is None or not _counts(model_age_seconds):
            checks.append(CheckResult.without_data("health.model_age_days", f"<= {limit:g}", "no model age"))
        else:
            days = model_age_seconds / 86400
            checks.append(CheckResult("health.model_age_days", days <= limit, round(days, 3), f"<= {limit:g}"))
    if "nonfinite_scores" in health:
        limit = float(health["nonfinite_scores"]["max"])
        bad = total(window, "sentiment_nonfinite_scores_total")
        if not _counts(bad):
            checks.append(CheckResult.without_data("health.nonfinite_scores", f"<= {limit:g}", f"{bad} is no count"))
        else:
            checks.append(CheckResult("health.nonfinite_scores", bad <= limit, bad, f"<= {limit:g}"))
    return checks
