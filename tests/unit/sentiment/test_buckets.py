"""The reference profile and its live counterparts at /metrics share one bucketing."""

from prometheus_client.parser import text_string_to_metric_families

from sentiment import buckets, metrics


def samples(text):
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_buckets_follow_prometheus_le():
    edges = (0, 2, 4)
    # value == edge falls in that edge's bucket; above every edge goes to the open last bucket
    assert buckets.bucket_counts([0, 1, 2, 3, 4, 5, 100], edges) == [1, 2, 2, 2]


def test_a_text_without_tokens_is_all_unknown():
    features = buckets.text_features("日本語のテキスト", lambda text: (0, 0))
    assert features.tokens == 0 and features.oov_share == 1.0 and features.chars == 8


def test_the_live_histograms_use_the_profile_edges():
    for histogram, name in (
        (metrics.TEXT_CHARS, "text_chars"),
        (metrics.TEXT_TOKENS, "text_tokens"),
        (metrics.OOV_SHARE, "oov_share"),
        (metrics.SCORES, "score"),
    ):
        assert tuple(histogram._upper_bounds[:-1]) == tuple(float(e) for e in buckets.FEATURE_EDGES[name])


def test_non_finite_scores_are_counted_not_observed():
    before = metrics.NON_FINITE._value.get()
    metrics.observe_predictions([{"score": float("nan"), "label": "negative"}])
    metrics.PENDING.flush()
    assert metrics.NON_FINITE._value.get() == before + 1
