"""A real moto_server per module, started the way the pipeline starts it."""

import os
import shutil
import uuid
from pathlib import Path

import pytest

from pipeline import aws, localaws
from pipeline.gate import main as gate_main
from sentiment.registry import ModelRegistry, s3_client
from sentiment.settings import Settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    state = tmp_path_factory.mktemp("localaws")
    server = localaws.up(state)
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    yield server
    localaws.down(state)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def settings(emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint)
    return Settings(
        project_env="local",
        model_bucket_name=f"models-{uuid.uuid4().hex[:12]}",
        artifacts_dir=tmp_path / "artifacts",
        model_cache_dir=tmp_path / "cache",
        _env_file=None,
    )


@pytest.fixture
def registry(settings) -> ModelRegistry:
    return aws.registry(settings)


@pytest.fixture(scope="module")
def blessed(trained_dir, tmp_path_factory):
    """A copy of the trained model that passed the real gate, with its reports."""
    root = tmp_path_factory.mktemp("blessed")
    model = root / "candidate"
    shutil.copytree(trained_dir, model)
    reports = root / "reports"
    assert gate_main(["--model", str(model), "--reports", str(reports)]) == 0
    return model, reports


@pytest.fixture
def fast_s3(settings):
    return s3_client(settings.aws_default_region)
