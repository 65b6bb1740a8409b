"""The non-ML health checks on hand-made windows (the live tests send real traffic, including to a release
whose test fault answers 5xx: test_monitor_live.py)."""

import math
import tomllib
from pathlib import Path

import pytest

from pipeline.live_metrics.health import health_checks

from .windows_of import key, requests

REPO = Path(__file__).resolve().parents[4]
CONFIG = tomllib.loads((REPO / "quality_gates" / "monitor.toml").read_text())


def test_a_window_with_5xx_answers_is_a_breach_and_a_clean_one_is_not():
    failing = health_checks(requests(90, 10), 3600.0, CONFIG)
    rate = next(c for c in failing if c.name == "health.error_rate")
    assert not rate.passed and rate.value == pytest.approx(0.1) and "10 5xx of 100" in rate.detail
    clean = next(c for c in health_checks(requests(100, 0), 3600.0, CONFIG) if c.name == "health.error_rate")
    assert clean.passed
    few = next(c for c in health_checks(requests(3, 2), 3600.0, CONFIG) if c.name == "health.error_rate")
    assert not few.passed and few.inconclusive  # under min_requests: nothing to judge, which is no pass
    stale = next(c for c in health_checks(requests(1, 0), 200 * 86400.0, CONFIG) if "age" in c.name)
    assert not stale.passed


@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf])
def test_health_counts_that_are_no_counts_are_inconclusive_not_passed(value):
    window = requests(100, 0) | {key("sentiment_requests_total", route="/predict", method="GET", status="500"): value}
    window |= {key("sentiment_request_seconds_bucket", route="/predict", le=le): n
               for le, n in (("0.01", 100.0), ("+Inf", value if value < 0 else 100.0))}  # fmt: skip
    window |= {key("sentiment_nonfinite_scores_total"): value}
    checks = {c.name: c for c in health_checks(window, 3600.0, CONFIG)}
    assert checks["health.error_rate"].inconclusive and not checks["health.error_rate"].passed
    assert checks["health.nonfinite_scores"].inconclusive and not checks["health.nonfinite_scores"].passed
    if value < 0:
        assert checks["health.p99_seconds"].inconclusive


def test_too_few_predict_answers_for_a_p99_are_inconclusive():
    window = {key("sentiment_request_seconds_bucket", route="/predict", le=le): 3.0 for le in ("0.01", "+Inf")}
    p99 = next(c for c in health_checks(window, 3600.0, CONFIG) if c.name == "health.p99_seconds")
    assert not p99.passed and p99.inconclusive and "(< " in p99.detail
