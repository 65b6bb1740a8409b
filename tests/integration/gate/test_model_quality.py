"""Behaviour of the trained model artifact, measured through the serving runtime."""

import json
import shutil

import numpy as np
import pytest

from pipeline.ml.data import SPLIT_DEFINITION
from sentiment import artifact, buckets
from sentiment.artifact import ArtifactError
from sentiment.runtime import SentimentModel

pytestmark = pytest.mark.slow


def test_held_out_quality_meets_the_target(trained_dir):
    metrics = json.loads((trained_dir / artifact.METADATA_FILE).read_text())["metrics"]["test"]
    assert metrics["accuracy"] >= 0.78
    assert metrics["roc_auc"] >= 0.85


def test_metadata_documents_provenance(trained_dir):
    meta = artifact.verify(trained_dir)
    assert len(meta["version"]) == 12
    assert set(meta["files"]) == {"model.tflite", "vocabulary.json", "model.keras", "profile.json"}
    assert meta["architecture"] == {"name": "ngram", "version": 1}
    assert [(i["name"], i["shape"]) for i in meta["inputs"]] == [("ids", [None, None]), ("counts", [None, None])]
    assert len(meta["data"]["fingerprint"]) == 64
    # lineage: trained from the built-in corpus written out as JSONL (tests/conftest.py), split by text hash
    lineage = meta["data"]
    assert lineage["format"] == "jsonl" and lineage["source"].endswith("corpus.jsonl") and len(lineage["sha256"]) == 64
    assert lineage["split"] == SPLIT_DEFINITION and sum(lineage["sizes"].values()) > 12500
    assert set(lineage["positive_shares"]) == {"train", "val", "test"}
    profile = json.loads((trained_dir / buckets.PROFILE_FILE).read_text())
    assert profile["data_fingerprint"] == lineage["fingerprint"] and profile["examples"] == lineage["sizes"]["test"]
    for key in ("git_sha", "created", "hyperparameters", "libraries", "training_inputs"):
        assert meta[key]
    assert meta["libraries"]["tensorflow"].startswith("2.21")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("a wonderful, moving film with superb performances", "positive"),
        ("one of the best movies of the year", "positive"),
        ("a dull, lifeless and boring mess", "negative"),
        ("the worst film i have seen in years", "negative"),
    ],
)
def test_clear_cases(model, text, label):
    assert model.predict([text])[0]["label"] == label


def test_litert_matches_keras(trained_dir, model):
    import keras

    from pipeline.ml import architectures

    texts = ["a wonderful film", "a dull mess", "have a nice day!", "not good at all"]
    keras_model = keras.models.load_model(trained_dir / artifact.KERAS_FILE)
    ngram = architectures.get("ngram")
    expected = keras_model(ngram.keras_inputs(ngram.load_state(trained_dir / artifact.VOCABULARY_FILE), texts))
    expected = expected.numpy()[:, 0]
    np.testing.assert_allclose(model.scores(texts), expected, atol=1e-5)


def test_batch_and_single_scores_agree(model):
    texts = ["great", "awful", "fine i guess", "a masterpiece"]
    batch = model.scores(texts)
    singles = np.array([model.scores([t])[0] for t in texts])
    np.testing.assert_allclose(batch, singles, atol=1e-6)


def test_tampered_artifact_is_refused(trained_dir, tmp_path):
    copy = tmp_path / "candidate"
    shutil.copytree(trained_dir, copy)
    data = bytearray((copy / artifact.MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / artifact.MODEL_FILE).write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="checksum mismatch"):
        SentimentModel(copy)


def test_missing_artifact_is_refused(tmp_path):
    with pytest.raises(ArtifactError, match=r"run `python -m pipeline\.train`"):
        SentimentModel(tmp_path)
