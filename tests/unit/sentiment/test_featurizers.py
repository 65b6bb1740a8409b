"""The model interface's serving side: featurizers chosen by the artifact's metadata, token ids,
token statistics, and the registries of both sides naming the same architectures. No TensorFlow."""

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import run
from pipeline.ml.architectures import ARCHITECTURES
from pipeline.ml.hyperparameters import PARAMETERS
from pipeline.stages.train import main as train_main
from sentiment import artifact, featurizers
from sentiment.artifact import ArtifactError
from sentiment.featurizers.token_ids import OOV, TokenIdsFeaturizer, TokenVocabulary
from sentiment.text import FeatureConfig, Vocabulary

TEXTS = ["a great film", "a great cast", "an awful film", "awful, just awful"]


def test_every_architecture_has_parameters_and_a_featurizer():
    assert set(ARCHITECTURES) == set(PARAMETERS) == set(featurizers.FEATURIZERS)


def test_token_vocabulary_is_fitted_by_document_frequency_and_pads_to_its_length():
    vocab = TokenVocabulary.fit(TEXTS, max_tokens=3, min_df=2, length=4)
    assert vocab.tokens == ("a", "awful", "film")  # df 2 each (ties alphabetical); "great" cut by max_tokens
    ids = vocab.encode(["a great film", "film film film film film", ""])
    assert ids.dtype == np.int32 and ids.shape == (3, 4)
    assert ids[0].tolist() == [2, OOV, 4, 0]  # "great" is out of vocabulary; then padding
    assert ids[1].tolist() == [4, 4, 4, 4]  # truncated to the length
    assert ids[2].tolist() == [0, 0, 0, 0]
    assert TokenVocabulary.from_json(vocab.to_json()) == vocab


def test_token_stats_count_words_and_those_out_of_vocabulary():
    tokens = TokenVocabulary.fit(TEXTS, max_tokens=10, min_df=2, length=8)
    assert tokens.token_stats("A great, GREAT film zzqx") == (5, 1)
    ngrams = Vocabulary.fit(TEXTS, [1, 1, 0, 0], FeatureConfig(min_df=2))
    assert ngrams.token_stats("A great, GREAT film zzqx") == (5, 1)
    assert ngrams.token_stats("") == (0, 0)


def test_a_token_vocabulary_refuses_other_json():
    with pytest.raises(ValueError, match="token_ids"):
        TokenVocabulary.from_json(json.dumps({"schema": 2, "terms": []}))


def _artifact(tmp_path: Path, architecture, inputs) -> dict:
    (tmp_path / artifact.VOCABULARY_FILE).write_text(TokenVocabulary(("good",), 4).to_json())
    meta = {"inputs": inputs}
    if architecture is not None:
        meta["architecture"] = architecture
    return meta


BILSTM_INPUTS = [{"name": "ids", "shape": [1, 4], "dtype": "int32"}]


def test_the_featurizer_is_the_metadata_architectures(tmp_path):
    found = featurizers.load(tmp_path, _artifact(tmp_path, {"name": "bilstm", "version": 1}, BILSTM_INPUTS))
    assert isinstance(found, TokenIdsFeaturizer)
    assert found.inputs(["good bad"])[0].tolist() == [[2, OOV, 0, 0]]


@pytest.mark.parametrize(
    ("architecture", "inputs", "message"),
    [
        ({"name": "transformer", "version": 1}, BILSTM_INPUTS, "'transformer' has no featurizer"),
        ({"name": "bilstm", "version": 2}, BILSTM_INPUTS, "bilstm version 2 is not served"),
        ({"name": "bilstm"}, BILSTM_INPUTS, "must be {'name': str, 'version': int}"),
        ({"name": "bilstm", "version": 1}, [{"name": "ids", "shape": [1, 8], "dtype": "int32"}], "\\[batch, 4\\]"),
        ({"name": "bilstm", "version": 1}, [{"name": "ids", "shape": [1, 0], "dtype": "int32"}], "positive integer"),
        ({"name": "bilstm", "version": 1}, [{"name": "ids", "shape": [1, 4], "dtype": "int8"}], "2-D and one of"),
        ({"name": "bilstm", "version": 1}, [], "non-empty list"),
        (None, BILSTM_INPUTS, "n-gram featurizer feeds"),  # no architecture: an n-gram artifact
    ],
)
def test_an_artifact_the_service_cannot_feed_is_refused_with_the_reason(tmp_path, architecture, inputs, message):
    with pytest.raises(ArtifactError, match=message):
        featurizers.load(tmp_path, _artifact(tmp_path, architecture, inputs))


def test_train_refuses_an_unknown_architecture_and_foreign_flags(tmp_path, capsys, monkeypatch):
    out = ["--out", str(tmp_path / "m")]
    assert run("train", train_main, [*out, "--arch", "ngram", "--lstm-units", "8"]) == 2
    assert "--lstm-units: not a hyper-parameter of ngram" in capsys.readouterr().err
    assert run("train", train_main, [*out, "--arch", "bilstm", "--l2", "0.1"]) == 2
    assert "--l2: not a hyper-parameter of bilstm" in capsys.readouterr().err
    from pipeline.settings import get_settings

    monkeypatch.setenv("MODEL_ARCH", "cnn")
    get_settings.cache_clear()
    try:
        assert run("train", train_main, out) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "MODEL_ARCH='cnn' is not an architecture" in err and err.strip().count("\n") == 0
