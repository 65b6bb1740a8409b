"""Reading a release's live metrics: what goes into a PromQL query."""

import pytest

from pipeline.release import live_metrics


@pytest.mark.parametrize("value", ["1h", "30m", "1h30m", "90s", "7d"])
def test_a_promql_duration_is_accepted(value):
    assert live_metrics.promql_duration(value) == value


@pytest.mark.parametrize("value", ["1h] or vector(1) #", "1h\n", "", "h", "-1h", "1 h"])
def test_anything_else_as_since_is_refused_in_one_line(value):
    with pytest.raises(ValueError, match="is not a PromQL duration") as caught:
        live_metrics.promql_duration(value)
    assert "\n" not in str(caught.value)


def test_the_job_and_the_window_never_change_a_querys_shape(monkeypatch):
    queries = []
    monkeypatch.setattr(live_metrics, "_query", lambda prometheus, promql: queries.append(promql) or [])
    live_metrics.from_prometheus("http://prometheus", "1h", 'x"} or vector(1) or {job="y')
    assert queries and all('{job="x\\"} or vector(1) or {job=\\"y"}' in q for q in queries)
    with pytest.raises(ValueError):
        live_metrics.from_prometheus("http://prometheus", "1h]) or vector(1", None)
