"""A release's live metrics as windows: what goes into a PromQL query, and a window from two snapshots."""

import pytest

from pipeline.live_metrics import windows
from pipeline.live_metrics.windows import Snapshot, parse, since

from .windows_of import key, requests


@pytest.mark.parametrize("value", ["1h", "30m", "1h30m", "90s", "7d"])
def test_a_promql_duration_is_accepted(value):
    assert windows.promql_duration(value) == value


@pytest.mark.parametrize("value", ["1h] or vector(1) #", "1h\n", "", "h", "-1h", "1 h"])
def test_anything_else_as_since_is_refused_in_one_line(value):
    with pytest.raises(ValueError, match="is not a PromQL duration") as caught:
        windows.promql_duration(value)
    assert "\n" not in str(caught.value)


def test_the_job_and_the_window_never_change_a_querys_shape(monkeypatch):
    queries = []
    monkeypatch.setattr(windows, "_query", lambda prometheus, promql: queries.append(promql) or [])
    windows.from_prometheus("http://prometheus", "1h", 'x"} or vector(1) or {job="y')
    assert queries and all('{job="x\\"} or vector(1) or {job=\\"y"}' in q for q in queries)
    with pytest.raises(ValueError):
        windows.from_prometheus("http://prometheus", "1h]) or vector(1", None)


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
