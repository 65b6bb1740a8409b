"""/metrics: Prometheus counters, latency and score histograms, model info; summed over gunicorn workers."""

import json
import urllib.request

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


@pytest.mark.slow
def test_metrics_add_up_across_gunicorn_workers(gunicorn_two_workers):
    url = f"http://127.0.0.1:{gunicorn_two_workers[1]}"
    for _ in range(40):  # new connections each time: the kernel spreads them over both workers
        request = urllib.request.Request(
            f"{url}/predict", data=json.dumps({"text": "fine"}).encode(), headers={"Content-Type": "application/json"}
        )
        urllib.request.urlopen(request, timeout=5).read()
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as resp:
        found = samples(resp.read().decode())
    assert value(found, "sentiment_requests_total", route="/predict", method="POST", status="200") == 40
    assert value(found, "sentiment_prediction_score_count") == 40
