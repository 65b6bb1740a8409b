"""The second built-in architecture, the BiLSTM, through the same train, gate and serving path as the
n-gram model: deterministic, judged by the same gate (blocked when it misses the floors or loses to an
n-gram champion, blessed under relaxed thresholds), published to the (emulated) model bucket and served
from it by `python -m sentiment serve`. tests/integration/release/test_release_lifecycle.py deploys it through the
traffic steps and smoke-tests it with the unchanged stage commands (bilstm_dir: tests/conftest.py)."""

import json
import os
import shutil
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from pipeline.environments import emulator as localaws
from pipeline.environments import processes
from pipeline.ml.training import train
from pipeline.model_registry import ModelRegistryWriter
from pipeline.records import Blessing
from pipeline.stages.gate import main as gate_main
from pipeline.stages.publish import publishable_files
from sentiment import artifact
from sentiment.model_registry import s3_client
from sentiment.runtime import SentimentModel

pytestmark = pytest.mark.slow

QUALITY_GATES = Path(__file__).resolve().parents[3] / "quality_gates"
TEXTS = ["a wonderful, moving film", "a dull, lifeless mess", "not good at all", "fine", "zzqx " * 40]


@pytest.fixture
def candidate(bilstm_dir, tmp_path):
    copy = tmp_path / "candidate"
    shutil.copytree(bilstm_dir, copy)
    return copy


def gate(model_dir, reports, *extra):
    return gate_main(["--model", str(model_dir), "--reports", str(reports), *extra])


def test_the_artifact_records_its_architecture_and_fixed_input_signature(bilstm_dir, bilstm_params):
    meta = artifact.verify(bilstm_dir)
    assert meta["architecture"] == {"name": "bilstm", "version": 1}
    assert meta["inputs"] == [{"name": "ids", "shape": [1, 32], "dtype": "int32"}]
    assert meta["hyperparameters"] == bilstm_params.as_dict()
    vocabulary = json.loads((bilstm_dir / artifact.VOCABULARY_FILE).read_text())
    assert vocabulary["kind"] == "token_ids" and len(vocabulary["tokens"]) == 3000


def test_a_batch_is_fed_row_by_row_and_scores_as_single_texts(bilstm_dir):
    model = SentimentModel(bilstm_dir)
    batch = model.scores(TEXTS)
    singles = np.array([model.scores([t])[0] for t in TEXTS])
    np.testing.assert_allclose(batch, singles, atol=1e-6)
    assert batch[0] > 0.5 > batch[1]
    assert model.token_stats("a wonderful zzqx film") == (4, 1)


def test_a_model_exported_with_a_fixed_batch_of_four_gets_padded_slices(bilstm_dir, tmp_path):
    import keras

    from pipeline.ml.architectures.bilstm import BiLSTM
    from pipeline.ml.training import package

    four = BiLSTM(serving_batch=4)
    meta = artifact.read_metadata(bilstm_dir)
    out = tmp_path / "batch4"
    out.mkdir()
    model = keras.models.load_model(bilstm_dir / artifact.KERAS_FILE)
    state = four.load_state(bilstm_dir / artifact.VOCABULARY_FILE)
    package(out, four, state, model, {k: meta[k] for k in ("data", "hyperparameters", "training_inputs")})
    batched = SentimentModel(out)
    assert batched.signature[0].shape == (4, 32)
    expected = SentimentModel(bilstm_dir).scores(TEXTS)
    np.testing.assert_allclose(batched.scores(TEXTS), expected, atol=1e-6)  # 5 texts: 4 + 1 padded with 3
    np.testing.assert_allclose(batched.scores(TEXTS[:1]), expected[:1], atol=1e-6)


def test_same_data_seed_and_sizes_give_byte_identical_serving_files(bilstm_dir, bilstm_params, tmp_path):
    again = train(tmp_path / "again", bilstm_params, with_anchors=False, log=lambda m: None).metadata
    first = artifact.verify(bilstm_dir)
    for name in artifact.SERVING_FILES:
        assert again["files"][name] == first["files"][name], name
    assert again["version"] == first["version"]


def test_a_bilstm_missing_the_floors_is_blocked_with_the_usual_lines(candidate, tmp_path, capsys):
    assert gate(candidate, tmp_path / "reports", "--no-champion") == 1
    out = capsys.readouterr().out
    assert "gate: FAILED test.accuracy = 0.7" in out and "(required >= 0.78)" in out
    assert "parity.max_abs_diff" in out and "gate: FAILED parity" not in out  # Keras and LiteRT agree
    report = json.loads((tmp_path / "reports" / "gate.json").read_text())
    assert "test.accuracy" in report["failed"] and not report["passed"]
    assert not (candidate / Blessing.NAME).exists()


def test_an_ngram_champion_blocks_a_weaker_bilstm(candidate, trained_dir, relaxed_thresholds, tmp_path, capsys):
    relaxed = ["--thresholds", str(relaxed_thresholds)]
    assert gate(candidate, tmp_path / "vs", *relaxed, "--baseline", str(trained_dir)) == 1
    report = json.loads((tmp_path / "vs" / "gate.json").read_text())
    assert "champion.test_accuracy_drop" in report["failed"]
    assert report["champion_comparison"]["test.accuracy"]["delta"] < -0.01
    assert "compared with champion" in capsys.readouterr().out


def post(port, body):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/predict", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert resp.status == 200
        answer = json.loads(resp.read())
    return answer if isinstance(answer, list) else [answer]


def test_a_blessed_bilstm_is_published_and_served_by_the_unchanged_service(
    candidate, relaxed_thresholds, tmp_path, monkeypatch
):
    """Gate (relaxed) -> publish to the emulated bucket -> `python -m sentiment serve` fetching the
    version from the registry (verified file by file) -> /predict, single and batch."""
    reports = tmp_path / "reports"
    assert gate(candidate, reports, "--no-champion", "--thresholds", str(relaxed_thresholds)) == 0
    emulator = localaws.up(tmp_path / "localaws")
    proc = None
    try:
        aws = localaws.environment("eu-west-1", localaws.endpoint_of(emulator))
        for key, value in aws.items():
            monkeypatch.setenv(key, value)
        bucket = "bilstm-models"
        s3 = s3_client("eu-west-1")
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        files = publishable_files(candidate, reports, relaxed_thresholds, QUALITY_GATES)
        manifest, _ = ModelRegistryWriter(s3, bucket).publish(files.files, files.metadata, progress=lambda m: None)
        version = manifest["version"]
        assert version == artifact.verify(candidate)["version"]
        port = processes.free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "SERVE_"))}
        env |= {"MODEL_BUCKET_NAME": bucket, "MODEL_VERSION": version, "MODEL_CACHE_DIR": str(tmp_path / "cache")}
        proc = processes.start_until_ready(
            [*processes.serve_command(f"127.0.0.1:{port}"), "--workers", "1"],
            tmp_path / "serve.log",
            lambda: processes.http_ok(f"http://127.0.0.1:{port}/ready"),
            timeout_s=60,
            env={**env, "SERVE_ACCESSLOG": ""},
        )
        for body in ({"text": TEXTS[0]}, {"texts": TEXTS}):
            rows = post(port, body)
            assert {row["model_version"] for row in rows} == {version}
            assert rows[0]["label"] == "positive"
        assert len(post(port, {"texts": TEXTS})) == len(TEXTS)
    finally:
        if proc is not None:
            processes.stop_group(proc.pid)
        localaws.down(tmp_path / "localaws")
