"""Expensive requests are refused with a JSON error saying why: too many characters in a batch (413),
a text that grows too much under Unicode normalisation (400). Through falcon.testing, the real model."""

import json

import pytest
from falcon import testing

from sentiment.app import MAX_BATCH, MAX_TEXT_CHARS, create_app

TOTAL_CHARS = 100_000  # per request, across a batch
NORMALIZED_CHARS = 3 * MAX_TEXT_CHARS  # per text, after NFKD
LIGATURE = "\ufdfa"  # one character that NFKD turns into 18


@pytest.fixture(scope="module")
def client(model):
    return testing.TestClient(create_app(model))


def post(client, body):
    return client.simulate_post("/predict", body=json.dumps(body), headers={"Content-Type": "application/json"})


def error_of(resp, status):
    assert resp.status_code == status, resp.text[:300]
    assert resp.headers["content-type"].startswith("application/json")
    error = resp.json["error"]
    assert error["status"] == status
    return error["description"]


def test_a_batch_over_the_total_character_cap_is_413_saying_why(client):
    texts = ["great film " * 909] * 11  # 11 texts of 9,999 characters: each allowed, 109,989 in all
    description = error_of(post(client, {"texts": texts}), 413)
    assert "109989 characters" in description and str(TOTAL_CHARS) in description


def test_a_batch_at_the_total_character_cap_is_scored(client):
    texts = ["great film " * 909] * 10 + ["x" * (TOTAL_CHARS - 10 * 9_999)]
    assert sum(map(len, texts)) == TOTAL_CHARS
    resp = post(client, {"texts": texts})
    assert resp.status_code == 200 and len(resp.json) == 11


def test_many_short_texts_still_fit_the_cap(client):
    resp = post(client, {"texts": ["a wonderful film"] * MAX_BATCH})
    assert resp.status_code == 200 and len(resp.json) == MAX_BATCH


def test_a_batch_that_grows_past_the_total_character_cap_under_nfkd_is_413_saying_why(client):
    # Each text is allowed alone (29,988 characters after NFKD); 60 of them were 1.8 million characters,
    # the costliest request the service used to score (about 320 ms of CPU), from a 600 KB body.
    texts = [LIGATURE * 1_666] * 60
    description = error_of(post(client, {"texts": texts}), 413)
    assert f"{60 * 1_666 * 18} characters in all after Unicode NFKD" in description
    assert str(TOTAL_CHARS) in description


@pytest.mark.parametrize("batch", [False, True], ids=["text", "texts"])
def test_a_text_that_expands_too_much_under_nfkd_is_400_saying_why(client, batch):
    text = LIGATURE * 2_000  # 2,000 characters sent, 36,000 after normalisation
    body = {"texts": ["fine", text]} if batch else {"text": text}
    description = error_of(post(client, body), 400)
    assert "NFKD" in description and str(NORMALIZED_CHARS) in description
    assert ('"texts"[1]' if batch else '"text"') in description


def test_natural_non_ascii_text_of_the_longest_length_is_scored(client):
    # Vietnamese stacks two marks on a letter and Hangul syllables split into 3 letters: the worst
    # natural growth under NFKD, threefold, stays allowed.
    for text in ["\u1ec7" * MAX_TEXT_CHARS, "\ud55c" * MAX_TEXT_CHARS, "caf\u00e9 " * (MAX_TEXT_CHARS // 5)]:
        assert post(client, {"text": text}).status_code == 200


def test_the_limits_are_documented_in_the_usage_and_the_openapi_document(client):
    usage = client.simulate_get("/predict").text
    assert str(TOTAL_CHARS) in usage and "NFKD" in usage and str(NORMALIZED_CHARS) in usage
    post_doc = client.simulate_get("/openapi.json").json["paths"]["/predict"]["post"]
    assert str(TOTAL_CHARS) in post_doc["responses"]["413"]["description"]
    schema = post_doc["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    assert str(NORMALIZED_CHARS) in schema[0]["properties"]["text"]["description"]
    assert str(TOTAL_CHARS) in schema[1]["properties"]["texts"]["description"]
