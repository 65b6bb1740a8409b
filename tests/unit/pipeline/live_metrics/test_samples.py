"""Histogram math on a window of samples (cumulative `le` buckets, as Prometheus gives them)."""

import math

import pytest

from pipeline.live_metrics import samples


def test_cumulative_buckets_become_per_bucket_counts_and_other_edges_are_refused():
    cumulative = {1.0: 2, 2.0: 5, math.inf: 6}
    assert samples.per_bucket(cumulative, (1, 2)) == [2, 3, 1]
    with pytest.raises(ValueError, match="not the profile's"):
        samples.per_bucket(cumulative, (1, 3))


def test_quantile_interpolates_like_histogram_quantile():
    buckets = {0.1: 50.0, 0.2: 100.0, math.inf: 100.0}
    assert samples.quantile(buckets, 0.5) == pytest.approx(0.1)
    assert samples.quantile(buckets, 0.75) == pytest.approx(0.15)
    assert samples.quantile({math.inf: 0.0}, 0.99) is None
