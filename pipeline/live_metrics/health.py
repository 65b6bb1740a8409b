"""A release's health over a window of live samples: error rate, /predict p99, model age, non-finite
scores (the [health.*] tables of quality_gates/monitor.toml). The model's drift is `pipeline.ml.drift`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pipeline.live_metrics.samples import Key, cumulative, quantile, select, total
from pipeline.reports import CheckResult


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
