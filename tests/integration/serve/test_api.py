"""Every endpoint and every bad input, through falcon.testing against the real model."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from falcon import testing

from sentiment.app import MAX_BATCH, MAX_BODY_BYTES, MAX_TEXT_CHARS, create_app, release_id


@pytest.fixture(scope="module")
def client(model):
    return testing.TestClient(create_app(model, image_ref="registry/sentiment:abc-123"))


def post(client, body, content_type="application/json"):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.simulate_post("/predict", body=raw, headers={"Content-Type": content_type})


def test_predict_single(client, model):
    resp = post(client, {"text": "have a nice day!"})
    assert resp.status_code == 200
    assert set(resp.json) == {"score", "label", "model_version"}
    assert 0.0 <= resp.json["score"] <= 1.0
    assert resp.json["label"] == "positive"
    assert resp.json["model_version"] == model.version


def test_predict_batch_keeps_order(client):
    resp = post(client, {"texts": ["a superb, moving film", "a boring, awful mess"]})
    assert resp.status_code == 200
    assert [r["label"] for r in resp.json] == ["positive", "negative"]


def test_predict_accepts_charset_parameter(client):
    resp = post(client, {"text": "great"}, content_type="application/json; charset=utf-8")
    assert resp.status_code == 200


def test_get_predict_is_usage_text(client):
    resp = client.simulate_get("/predict")
    assert resp.status_code == 200 and "POST /predict" in resp.text


def test_health_ready_version(client, model):
    assert client.simulate_get("/health").text == "OK"
    assert client.simulate_get("/ready").json == {"ready": True, "model_version": model.version}
    version = client.simulate_get("/version").json
    assert version["model_version"] == model.version
    assert version["release"] == release_id("registry/sentiment:abc-123")


def test_version_shows_no_code_revision_image_registry_or_model_date(model):
    import falcon.testing

    from sentiment.app import create_app, image_without_registry, release_id

    ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sentiment-api-prod:0123456789ab-aaaaaaaaaaaa"
    shown = falcon.testing.TestClient(create_app(model, image_ref=ecr)).simulate_get("/version")
    assert set(shown.json) == {"model_version", "service_version", "release"}
    assert shown.json["release"] == release_id(ecr) and len(release_id(ecr)) == 16
    assert "123456789012" not in shown.text and "0123456789ab" not in shown.text and "sentiment-api" not in shown.text
    assert release_id("127.0.0.1:5000/sentiment-api-prod:0123456789ab-aaaaaaaaaaaa") == release_id(ecr)
    assert image_without_registry(ecr) == "sentiment-api-prod:0123456789ab-aaaaaaaaaaaa"
    assert image_without_registry("localhost/app:tag") == "app:tag"
    assert image_without_registry("library/app:tag") == "library/app:tag"


BAD_INPUTS = [
    pytest.param(b"{not json", "application/json", 400, "not valid JSON", id="malformed-json"),
    pytest.param(b"\xff\xfe{}", "application/json", 400, "UTF-8", id="invalid-utf8"),
    pytest.param(b"", "application/json", 400, "empty", id="empty-body"),
    pytest.param(b'{"text": "hi"}', "text/plain", 415, "application/json", id="wrong-content-type"),
    pytest.param(b'{"text": "hi"}', None, 415, "application/json", id="no-content-type"),
    pytest.param(b"[1, 2]", "application/json", 400, "JSON object", id="not-an-object"),
    pytest.param(b"{}", "application/json", 400, "exactly one", id="missing-text"),
    pytest.param(b'{"text": "a", "texts": ["b"]}', "application/json", 400, "exactly one", id="both-fields"),
    pytest.param(b'{"text": ""}', "application/json", 400, "empty", id="empty-text"),
    pytest.param(b'{"text": "   "}', "application/json", 400, "empty", id="blank-text"),
    pytest.param(b'{"text": 42}', "application/json", 400, "string", id="number-text"),
    pytest.param(b'{"text": null}', "application/json", 400, "string", id="null-text"),
    pytest.param(b'{"texts": []}', "application/json", 400, "non-empty list", id="empty-list"),
    pytest.param(b'{"texts": "abc"}', "application/json", 400, "non-empty list", id="texts-not-list"),
    pytest.param(b'{"texts": ["ok", 3]}', "application/json", 400, '"texts"[1]', id="texts-item-not-string"),
    pytest.param(
        json.dumps({"text": "x" * (MAX_TEXT_CHARS + 1)}).encode(),
        "application/json",
        400,
        "longer than",
        id="text-too-long",
    ),
    pytest.param(
        json.dumps({"texts": ["ok"] * (MAX_BATCH + 1)}).encode(),
        "application/json",
        400,
        "at most",
        id="too-many-texts",
    ),
    pytest.param(b'{"text": "' + b"a" * MAX_BODY_BYTES + b'"}', "application/json", 413, "exceeds", id="body-too-big"),
    pytest.param(b"[" * 600_000 + b"]" * 600_000, "application/json", 413, "exceeds", id="deep-json-too-big"),
    pytest.param(b"[" * 50_000 + b"]" * 50_000, "application/json", 400, "", id="deep-json"),
]


@pytest.mark.parametrize(("body", "content_type", "status", "message"), BAD_INPUTS)
def test_bad_input_is_a_4xx_with_a_json_error(client, body, content_type, status, message):
    headers = {"Content-Type": content_type} if content_type else {}
    resp = client.simulate_post("/predict", body=body, headers=headers)
    assert resp.status_code == status
    error = resp.json["error"]
    assert error["status"] == status and message in error["description"]


def test_errors_are_json_even_when_xml_is_preferred(client):
    resp = client.simulate_get("/nope", headers={"Accept": "application/xml"})
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/json") and resp.json["error"]["status"] == 404


def test_wrong_method_is_405_json(client):
    resp = client.simulate_delete("/predict")
    assert resp.status_code == 405 and resp.json["error"]["status"] == 405


def test_concurrent_requests_get_the_same_answers_as_serial(client):
    texts = [f"{adj} film number {i}" for i, adj in enumerate(["great", "awful", "fine", "dull", "superb"] * 40)]
    serial = [post(client, {"text": t}).json["score"] for t in texts]
    with ThreadPoolExecutor(max_workers=16) as pool:
        concurrent = list(pool.map(lambda t: post(client, {"text": t}).json["score"], texts))
    assert concurrent == serial


def test_a_model_scoring_nan_answers_500_in_json_and_is_counted(nan_dir):
    """A broken model (every weight NaN) through the real LiteRT runtime: no NaN reaches the client,
    which JSON could not carry and which would still come with a label."""
    from sentiment import metrics
    from sentiment.runtime import SentimentModel

    client = testing.TestClient(create_app(SentimentModel(nan_dir)))
    before = metrics.NON_FINITE._value.get()
    for body in ({"text": "a superb, moving film"}, {"texts": ["great", "awful"]}):
        resp = post(client, body)
        assert resp.status_code == 500
        error = json.loads(resp.text, parse_constant=pytest.fail)["error"]  # strict: NaN would fail
        assert "not a finite number" in error["description"]
    assert metrics.NON_FINITE._value.get() == before + 3


def test_a_worker_freezes_what_it_loaded_so_full_collections_skip_the_model(trained_dir, clean_env, tmp_path):
    """The WSGI module, as a worker imports it: the model and its vocabulary end up in the collector's
    permanent generation (a full collection scanning them stalled the worker for 11-15 ms)."""
    import subprocess
    import sys

    code = "import gc, sentiment.wsgi; print(gc.get_freeze_count())"
    env = {**clean_env, "MODEL_DIR": str(trained_dir), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) > 10_000
