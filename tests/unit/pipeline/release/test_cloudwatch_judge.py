"""The CloudWatch judge of an AWS delivery step: relative to the baseline, fail closed, alarms first."""

import math

import pytest

from pipeline.release.cloudwatch_judge import judge, summarize
from pipeline.release.progressive import Limit

LIMITS = {"error_rate": Limit(0.01, "5xx"), "p99_ms": Limit(250.0, "latency"),
          "positive_share_delta": Limit(0.15, "share"), "score_distance": Limit(0.25, "histogram")}  # fmt: skip


def group(requests, errors=0, latency_s=0.05):
    return summarize({"requests": [requests], "errors": [errors] if errors else [], "latency": [latency_s]})


def test_a_candidate_as_good_as_the_baseline_passes_with_its_values_recorded():
    verdict = judge("10%", group(40), group(360), {}, LIMITS, 20)
    assert verdict.outcome == "pass"
    values = {c.name: c.value for c in verdict.checks}
    assert values == {"10%.alarms": "none", "10%.error_rate": 0.0, "10%.p99_ms": 50.0}


def test_a_candidate_alarm_in_alarm_is_a_breach_whatever_the_metrics_say():
    verdict = judge("10%", group(0), group(0), {"x-candidate-5xx-rate": "Threshold Crossed"}, LIMITS, 20)
    assert verdict.outcome == "breach"
    assert verdict.reason.startswith("10%.alarms = x-candidate-5xx-rate")


def test_the_error_rate_is_judged_relative_to_the_baseline():
    # 5% errors on both (a shared dependency failing) is not the candidate's fault; 5% more than the baseline is.
    assert judge("50%", group(200, 10), group(200, 10), {}, LIMITS, 20).outcome == "pass"
    breach = judge("50%", group(200, 12), group(200, 0), {}, LIMITS, 20)
    assert breach.outcome == "breach" and breach.reason.startswith("50%.error_rate = 0.06")


def test_latency_over_budget_breaches_only_when_slower_than_the_baseline():
    assert judge("50%", group(200, latency_s=0.4), group(200, latency_s=0.4), {}, LIMITS, 20).outcome == "pass"
    slow = judge("50%", group(200, latency_s=0.4), group(200, latency_s=0.05), {}, LIMITS, 20)
    assert slow.outcome == "breach" and "p99_ms = 400" in slow.reason


@pytest.mark.parametrize(
    ("candidate", "baseline", "why"),
    [
        (group(5), group(360), "candidate answered 5 requests (fewer than 20)"),
        (group(40), group(3), "baseline answered 3 requests (fewer than 20)"),
        (summarize({"requests": [40], "errors": [], "latency": []}), group(360), "no TargetResponseTime datapoint"),
        (summarize({"requests": [40], "errors": [-1], "latency": [0.05]}), group(360), "negative datapoint"),
        (summarize({"requests": [40], "errors": [], "latency": [math.nan]}), group(360), "non-finite datapoint"),
    ],
)
def test_missing_or_untrustworthy_data_is_inconclusive_and_never_passes(candidate, baseline, why):
    verdict = judge("10%", candidate, baseline, {}, LIMITS, 20)
    assert verdict.outcome == "inconclusive"
    assert verdict.reason.startswith("inconclusive: ") and why in verdict.reason
    assert not all(c.passed for c in verdict.checks)


def test_a_missing_5xx_series_with_requests_counts_as_zero_errors():
    # The load balancer publishes HTTPCode_Target_5XX_Count only for minutes that had one.
    assert summarize({"requests": [100, 50], "errors": [], "latency": [0.02, 0.03]})["error_rate"] == 0.0


def behaviour(predictions, positive_share, histogram=(5, 5)):
    return {"predictions": predictions, "positive_share": positive_share, "score_histogram": list(histogram)}


def test_the_model_behaviour_of_both_releases_is_judged_when_given():
    same = judge("10%", group(40), group(360), {}, LIMITS, 20, (behaviour(40, 0.5), behaviour(360, 0.55)))
    assert same.outcome == "pass"
    assert {c.name: c.value for c in same.checks}["10%.positive_share_delta"] == 0.05
    flipped = judge("10%", group(40), group(360), {}, LIMITS, 20, (behaviour(40, 0.9, (1, 9)), behaviour(360, 0.5)))
    assert flipped.outcome == "breach" and flipped.reason.startswith("10%.positive_share_delta = 0.4")


def test_too_few_predictions_or_no_emf_metrics_are_inconclusive():
    few = judge("10%", group(40), group(360), {}, LIMITS, 20, (behaviour(5, 1.0), behaviour(360, 0.5)))
    assert few.outcome == "inconclusive" and "5 predictions on the candidate's EMF metrics (< 20)" in few.reason
    lost = {"predictions": 0, "invalid": "CloudWatch has no requests of model version x"}
    assert judge("10%", group(40), group(360), {}, LIMITS, 20, (lost, behaviour(360, 0.5))).outcome == "inconclusive"
