"""The trained artifact's reference profile and the live metrics a served model records."""

import json
import time

import pytest
from falcon import testing
from prometheus_client.parser import text_string_to_metric_families

from sentiment import artifact, monitoring
from sentiment.app import create_app
from sentiment.artifact import ArtifactError


def samples(text):
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_artifact_lists_its_profile_with_a_checksum(trained_dir, tmp_path):
    metadata = artifact.verify(trained_dir)
    assert monitoring.PROFILE_FILE in metadata["files"]
    profile = json.loads((trained_dir / monitoring.PROFILE_FILE).read_text())
    assert profile["model_version"] == metadata["version"]
    assert profile["data_fingerprint"] == metadata["data"]["fingerprint"]
    assert profile["created"] == metadata["created"]
    assert profile["examples"] == metadata["data"]["sizes"]["test"]
    assert 0.3 < profile["positive_share"] < 0.7
    for name, edges in monitoring.FEATURE_EDGES.items():
        feature = profile["features"][name]
        assert tuple(feature["edges"]) == edges
        assert sum(feature["counts"]) == profile["examples"], name
    # English reviews: most tokens are known, and every review has some
    assert profile["features"]["text_tokens"]["counts"][0] == 0
    assert sum(profile["features"]["oov_share"]["counts"][:5]) / profile["examples"] > 0.8

    # a modified profile no longer verifies (it is part of the checksummed artifact)
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained_dir, copy)
    (copy / monitoring.PROFILE_FILE).write_text(json.dumps({**profile, "positive_share": 0.0}))
    with pytest.raises(ArtifactError, match="checksum mismatch"):
        artifact.verify(copy)


def test_metrics_observe_text_features_labels_and_rejections_without_storing_text(model):
    client = testing.TestClient(create_app(model))
    before = samples(client.simulate_get("/metrics").text)
    private_text = "a wonderful film zzqqxunknownword"
    client.simulate_post("/predict", json={"texts": [private_text, "dull"]})
    client.simulate_post("/predict", json={"text": "€€€ 12345 67890"})
    client.simulate_post("/predict", body=b"{", headers={"Content-Type": "application/json"})
    client.simulate_post("/predict", json={"text": ""})
    client.simulate_post("/predict", json={"text": 5})
    client.simulate_post("/predict", json={"text": "x" * 10_001})
    client.simulate_post("/predict", body=b"{}", headers={"Content-Type": "text/plain"})
    client.simulate_post("/predict", json={"texts": ["x" * 9000] * 12})
    client.simulate_post("/predict", json={"texts": ["x"] * 257})
    client.simulate_post("/predict", json={"a": 1})
    page = client.simulate_get("/metrics").text
    after = samples(page)
    assert private_text not in page and "zzqqxunknownword" not in page

    def delta(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("sentiment_text_chars_count") == 3
    assert delta("sentiment_text_tokens_count") == 3
    assert delta("sentiment_text_oov_share_count") == 3
    # "dull" is one known token: OOV share 0 falls in the first bucket (le=0.0)
    assert delta("sentiment_text_oov_share_bucket", le="0.0") >= 1
    assert delta("sentiment_text_tokens_bucket", le="2.0") == 2  # cumulative: "dull" and "12345 67890"
    assert (
        delta("sentiment_predictions_total", label="positive") + delta("sentiment_predictions_total", label="negative")
        == 3
    )
    for reason in (
        "invalid_json",
        "empty_text",
        "not_a_string",
        "text_too_long",
        "content_type",
        "batch_characters",
        "batch_too_long",
        "invalid_shape",
    ):
        assert delta("sentiment_rejected_inputs_total", reason=reason) == 1, reason
    assert delta("sentiment_rejected_inputs_total", reason="other") == 0
    assert after[("sentiment_model_info", (("version", model.version),))] == 1
    age = after[("sentiment_model_age_seconds", ())]
    created = after[("sentiment_model_created_timestamp_seconds", ())]
    assert created > 1.7e9 and age == pytest.approx(time.time() - created, abs=60) and age > 0
