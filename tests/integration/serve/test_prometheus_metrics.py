"""/metrics: Prometheus counters, latency and score histograms, model info; summed over gunicorn workers."""

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from falcon import testing
from prometheus_client.parser import text_string_to_metric_families

from sentiment.app import create_app


def samples(text):
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found, name, **labels):
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_by_route_and_status_and_observe_scores(model):
    client = testing.TestClient(create_app(model))
    before = samples(client.simulate_get("/metrics").text)
    client.simulate_post("/predict", json={"texts": ["a wonderful film", "dull and lifeless"]})
    client.simulate_post("/predict", body=b"{", headers={"Content-Type": "application/json"})
    client.simulate_get("/no/such/path/1234")
    after = samples(client.simulate_get("/metrics").text)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("sentiment_requests_total", route="/predict", method="POST", status="200") == 1
    assert delta("sentiment_requests_total", route="/predict", method="POST", status="400") == 1
    assert delta("sentiment_requests_total", route="unmatched", method="GET", status="404") == 1
    assert delta("sentiment_request_seconds_count", route="/predict", status="200") == 1
    assert delta("sentiment_prediction_score_count") == 2
    assert value(after, "sentiment_model_info", version=model.version) == 1


@pytest.mark.filterwarnings("ignore::wsgiref.validate.WSGIWarning")  # the test client's validator notes the method
def test_made_up_methods_share_one_label_so_clients_cannot_add_series(model):
    client = testing.TestClient(create_app(model))
    before = samples(client.simulate_get("/metrics").text)
    for method in ("FOO1", "FOO2", "BAR3"):
        assert client.simulate_request(method, "/predict").status_code in (400, 405)
    after = samples(client.simulate_get("/metrics").text)
    methods = {dict(labels).get("method") for name, labels in after if name == "sentiment_requests_total"}
    assert not methods & {"FOO1", "FOO2", "BAR3"}
    counted = [value(after, "sentiment_requests_total", route="/predict", method="other", status=str(code))
               - value(before, "sentiment_requests_total", route="/predict", method="other", status=str(code))
               for code in (400, 405)]  # fmt: skip
    assert sum(counted) == 3


def post_prediction(url, text):
    request = urllib.request.Request(
        f"{url}/predict", data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        return resp.status


def wait_for_workers(url, workers, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(f"{url}/metrics", timeout=10) as resp:
            live = value(samples(resp.read().decode()), "sentiment_worker_processes")
        if live == workers or time.monotonic() > deadline:
            assert live == workers, f"{live:g} of {workers} workers up after {timeout} s"
            return
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.parametrize("server", ["serve_two_workers", "gunicorn_two_workers"])
def test_metrics_add_up_across_workers_exactly(server, request):
    """Each worker writes its tally in batches (sentiment.metrics.PendingWrites): once the requests are
    answered, /metrics counts every one of them, whichever worker answered it."""
    url = f"http://127.0.0.1:{request.getfixturevalue(server)[1]}"
    wait_for_workers(url, 2)  # ready means one worker is; on a busy machine the other may still be loading
    texts = ["fine", "a dull, lifeless and far too long film", "wonderful"] * 30
    # 8 clients at once, a new connection per request: the kernel spreads them over both workers, and a
    # worker often has several requests in flight, so its tally is written in batches.
    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(lambda text: post_prediction(url, text), texts)) == {200}
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as resp:
        found = samples(resp.read().decode())
    n = len(texts)
    assert value(found, "sentiment_requests_total", route="/predict", method="POST", status="200") == n
    assert value(found, "sentiment_request_seconds_count", route="/predict", status="200") == n
    assert value(found, "sentiment_prediction_score_count") == n
    labels = sum(value(found, "sentiment_predictions_total", label=label) for label in ("positive", "negative"))
    assert labels == n
    assert value(found, "sentiment_text_chars_count") == n
    assert value(found, "sentiment_text_chars_sum") == sum(map(len, texts))
    assert value(found, "sentiment_text_chars_bucket", le="+Inf") == n
