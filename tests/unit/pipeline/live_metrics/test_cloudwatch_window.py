"""CloudWatch windows as /metrics samples: durations, and the translation of the EMF metrics."""

from __future__ import annotations

import math

import pytest

from pipeline.live_metrics import cloudwatch_window
from pipeline.live_metrics import samples as window_samples
from sentiment import cloudwatch_metrics as cw


def test_durations():
    assert cloudwatch_window.duration_seconds("15m") == 900 and cloudwatch_window.duration_seconds("2d") == 172800
    for bad in ("30s", "1w", "h", "-1h", "1.5h", ""):
        with pytest.raises(ValueError):
            cloudwatch_window.duration_seconds(bad)


def test_samples_are_what_the_drift_and_health_checks_read():
    service, version = "svc", "0123456789ab"
    values = {(m.name, (service, version)): None for m in cw.SCALARS}
    values |= {(cw.REQUESTS.name, (service, version)): 40.0, (cw.SERVER_ERRORS.name, (service, version)): 4.0}
    values[(cw.PREDICTIONS.name, (service, version, "positive"))] = 30.0
    for histogram in cw.HISTOGRAMS:
        values[(histogram.total.name, (service, version))] = 3.0
        for edge in (*histogram.buckets.edges, math.inf):
            values[(histogram.buckets.name, (service, version, cw.bound(edge)))] = 1.0 if math.isinf(edge) else None
        values[(histogram.buckets.name, (service, version, cw.bound(histogram.buckets.edges[0])))] = 2.0
    samples = cloudwatch_window._samples(values, service, version, ["positive"])
    assert window_samples.total(samples, "sentiment_requests_total") == 40
    assert window_samples.total(samples, "sentiment_requests_total", status="5xx") == 4
    assert window_samples.total(samples, "sentiment_predictions_total", label="positive") == 30
    score = window_samples.cumulative(samples, "sentiment_prediction_score")
    assert score[0.1] == 2 and score[math.inf] == 3  # cumulative, as Prometheus' le buckets
    assert window_samples.per_bucket(score, cw.HISTOGRAM_OF["score"].buckets.edges)[0] == 2
    assert window_samples.cumulative(samples, "sentiment_request_seconds", route="/predict")[math.inf] == 3
    assert not window_samples.select(samples, "sentiment_model_age_seconds")  # no datapoints: absent, never 0
