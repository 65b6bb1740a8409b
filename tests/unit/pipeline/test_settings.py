from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.settings import PipelineSettings
from sentiment.settings import Settings

REPO = Path(__file__).resolve().parents[3]


def test_defaults_and_derived_names(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env here
    for key in ("PROJECT_NAME", "PROJECT_ENV", "MODEL_BUCKET_NAME"):
        monkeypatch.delenv(key, raising=False)
    s = PipelineSettings()
    assert s.project_env == "local"
    assert s.model_bucket == "sentiment-api-local-models"
    assert s.ecr_repository == "sentiment-api-local"


def test_env_file_is_read_and_environment_wins(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("PROJECT_NAME=acme-ml\nPROJECT_ENV=qa\n")
    monkeypatch.delenv("PROJECT_NAME", raising=False)
    monkeypatch.setenv("PROJECT_ENV", "prod")
    s = Settings()
    assert (s.project_name, s.project_env, s.model_bucket) == ("acme-ml", "prod", "acme-ml-prod-models")


def test_unknown_environment_is_rejected(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROJECT_ENV", "staging")
    with pytest.raises(ValidationError):
        Settings()


def test_tracked_env_file_has_defaults_and_no_credentials():
    lines = [ln for ln in (REPO / ".env").read_text().splitlines() if ln and not ln.startswith("#")]
    keys = {ln.split("=", 1)[0] for ln in lines}
    assert {"PROJECT_NAME", "PROJECT_ENV", "AWS_DEFAULT_REGION"} <= keys
    assert "PROJECT_ENV=local" in lines
    for key in keys:
        assert not any(word in key for word in ("SECRET", "PASSWORD", "TOKEN", "ACCESS_KEY", "PRIVATE")), key


def test_env_local_overrides_env_and_the_environment_overrides_both(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BASE_IMAGE", raising=False)
    (tmp_path / ".env").write_text("BASE_IMAGE=from-env\nSEED=7\n")
    (tmp_path / ".env.local").write_text("BASE_IMAGE=from-env-local\n")
    assert (PipelineSettings().base_image, PipelineSettings().seed) == ("from-env-local", 7)
    monkeypatch.setenv("BASE_IMAGE", "from-environment")
    assert PipelineSettings().base_image == "from-environment"


def test_the_service_settings_carry_only_what_the_service_reads():
    pipeline_only = set(PipelineSettings.model_fields) - set(Settings.model_fields)
    assert {"seed", "base_image", "container_engine", "local_aws_port", "ecr_repository_name"} <= pipeline_only
    assert not hasattr(Settings(_env_file=None), "tf_state_bucket")


def test_the_healthcheck_probes_loopback_on_the_bound_port():
    from sentiment.healthcheck import health_url

    assert health_url("0.0.0.0:8000") == "http://127.0.0.1:8000/health"
    assert health_url("127.0.0.1:41234") == "http://127.0.0.1:41234/health"
