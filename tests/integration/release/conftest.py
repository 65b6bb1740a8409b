"""A real moto_server per module, started the way the pipeline starts it."""

import os
import uuid
from pathlib import Path

import pytest

from pipeline import environments
from pipeline.environments import emulator as localaws
from pipeline.model_registry import ModelRegistryWriter
from pipeline.settings import PipelineSettings
from sentiment.model_registry import s3_client

REPO = Path(__file__).resolve().parents[3]


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
    monkeypatch.setenv("AWS_ENDPOINT_URL", localaws.endpoint_of(emulator))
    return PipelineSettings(
        project_env="local",
        model_bucket_name=f"models-{uuid.uuid4().hex[:12]}",
        artifacts_dir=tmp_path / "artifacts",
        model_cache_dir=tmp_path / "cache",
        _env_file=None,
    )


@pytest.fixture
def registry(settings) -> ModelRegistryWriter:
    """A fresh bucket per test, made with boto3 (Terraform owns it in the pipeline)."""
    environment = environments.current(settings)
    environment.connect()
    s3_client(settings.aws_default_region).create_bucket(
        Bucket=settings.model_bucket, CreateBucketConfiguration={"LocationConstraint": settings.aws_default_region}
    )
    return environment.model_registry()
