"""The monitor's statistics and windows on hand-made samples (the live tests send real traffic,
including to a release whose test fault answers 5xx: test_monitor_live.py)."""

import math
import tomllib
from pathlib import Path

import pytest

from pipeline.ml import drift
from pipeline.release.live_metrics import Snapshot, parse, since

REPO = Path(__file__).resolve().parents[4]
CONFIG = tomllib.loads((REPO / "quality_gates" / "monitor.toml").read_text())


def key(name, **labels):
    return (name, tuple(sorted(labels.items())))


def requests(ok, errors, version="abc123abc123"):
    return {
        key("sentiment_requests_total", route="/predict", method="POST", status="200"): ok,
        key("sentiment_requests_total", route="/predict", method="POST", status="500"): errors,
        key("sentiment_model_info", version=version): 1.0,
    }


def test_psi_is_zero_for_the_same_shares_and_grows_with_the_shift():
    assert drift.psi([10, 20, 70], [1, 2, 7]) == pytest.approx(0.0)
    small, large = drift.psi([10, 20, 70], [12, 22, 66]), drift.psi([10, 20, 70], [70, 20, 10])
    assert 0 < small < 0.1 < 0.25 < large
    assert math.isfinite(drift.psi([0, 0, 10], [10, 0, 0]))  # empty buckets are floored, not infinite


def test_cumulative_buckets_become_per_bucket_counts_and_other_edges_are_refused():
    cumulative = {1.0: 2, 2.0: 5, math.inf: 6}
    assert drift.per_bucket(cumulative, (1, 2)) == [2, 3, 1]
    with pytest.raises(ValueError, match="not the profile's"):
        drift.per_bucket(cumulative, (1, 3))


def test_quantile_interpolates_like_histogram_quantile():
    buckets = {0.1: 50.0, 0.2: 100.0, math.inf: 100.0}
    assert drift.quantile(buckets, 0.5) == pytest.approx(0.1)
    assert drift.quantile(buckets, 0.75) == pytest.approx(0.15)
    assert drift.quantile({math.inf: 0.0}, 0.99) is None


def test_a_window_with_5xx_answers_is_a_breach_and_a_clean_one_is_not():
    failing = drift.health_checks(requests(90, 10), 3600.0, CONFIG)
    rate = next(c for c in failing if c.name == "health.error_rate")
    assert not rate.passed and rate.value == pytest.approx(0.1) and "10 5xx of 100" in rate.detail
    clean = next(c for c in drift.health_checks(requests(100, 0), 3600.0, CONFIG) if c.name == "health.error_rate")
    assert clean.passed
    few = next(c for c in drift.health_checks(requests(3, 2), 3600.0, CONFIG) if c.name == "health.error_rate")
    assert not few.passed and few.inconclusive  # under min_requests: nothing to judge, which is no pass
    stale = next(c for c in drift.health_checks(requests(1, 0), 200 * 86400.0, CONFIG) if "age" in c.name)
    assert not stale.passed


@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf])
def test_health_counts_that_are_no_counts_are_inconclusive_not_passed(value):
    window = requests(100, 0) | {key("sentiment_requests_total", route="/predict", method="GET", status="500"): value}
    window |= {key("sentiment_request_seconds_bucket", route="/predict", le=le): n
               for le, n in (("0.01", 100.0), ("+Inf", value if value < 0 else 100.0))}  # fmt: skip
    window |= {key("sentiment_nonfinite_scores_total"): value}
    checks = {c.name: c for c in drift.health_checks(window, 3600.0, CONFIG)}
    assert checks["health.error_rate"].inconclusive and not checks["health.error_rate"].passed
    assert checks["health.nonfinite_scores"].inconclusive and not checks["health.nonfinite_scores"].passed
    if value < 0:
        assert checks["health.p99_seconds"].inconclusive


def test_too_few_predict_answers_for_a_p99_are_inconclusive():
    window = {key("sentiment_request_seconds_bucket", route="/predict", le=le): 3.0 for le in ("0.01", "+Inf")}
    p99 = next(c for c in drift.health_checks(window, 3600.0, CONFIG) if c.name == "health.p99_seconds")
    assert not p99.passed and p99.inconclusive and "(< " in p99.detail


def test_a_window_is_the_difference_since_its_start_unless_the_release_restarted():
    start = Snapshot("http://r", 100.0, requests(10, 1))
    now = Snapshot("http://r", 200.0, requests(30, 1))
    window = since(now, start)
    assert window.start == 100.0 and not window.note
    assert window.samples[key("sentiment_requests_total", route="/predict", method="POST", status="200")] == 20
    assert window.samples[key("sentiment_model_info", version="abc123abc123")] == 1  # gauges as they are now
    restarted = since(Snapshot("http://r", 200.0, requests(5, 0)), start)
    assert restarted.start is None and "restarted" in restarted.note
    new_version = since(Snapshot("http://r", 200.0, requests(40, 1, version="fff000fff000")), start)
    assert new_version.start is None
    elsewhere = since(Snapshot("http://other", 200.0, requests(40, 1)), start)
    assert elsewhere.start is None and "http://r" in elsewhere.note
    assert Snapshot.from_dict(now.to_dict()) == now


def test_parse_keeps_only_the_services_samples():
    page = '# TYPE up gauge\nup 1\n# TYPE sentiment_x_total counter\nsentiment_x_total{a="b"} 3\n'
    assert parse(page) == {key("sentiment_x_total", a="b"): 3.0}


def test_every_drift_rule_names_a_known_statistic_and_bucket_edges(tmp_path):
    from sentiment import monitoring

    for name, rule in CONFIG["drift"].items():
        assert rule["reason"] and rule["statistic"] in {"mean_increase", "share_increase", "abs_difference"}, name
        if rule["statistic"] == "share_increase":
            edges = [float(e) for e in monitoring.FEATURE_EDGES[name]]
            assert all(float(rule[b]) in edges for b in ("above", "upto") if b in rule), name
