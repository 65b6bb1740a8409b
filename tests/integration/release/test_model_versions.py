"""A model version is 12 lowercase hex characters (or `champion`) wherever it comes from: settings, the
command line, or the registry's champion pointer and history read from S3. Anything else is refused in
one line before it reaches a path, an S3 key, an image tag or Terraform."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.settings import PipelineSettings
from sentiment.loader import load_model
from sentiment.model_registry import CHAMPION_KEY, HISTORY_PREFIX, ModelRegistryError

REPO = Path(__file__).resolve().parents[3]
HOSTILE = ["./../../../escape", "abcdef012345\nrm -rf /", "ABCDEF012345", "abcdef01234", "../abcdef0123"]

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("version", HOSTILE)
def test_a_hostile_champion_pointer_is_refused_and_nothing_is_written_outside_the_cache(
    registry, settings, tmp_path, version
):
    registry.s3.put_object(Bucket=registry.bucket, Key=CHAMPION_KEY, Body=json.dumps({"version": version}).encode())
    before = sorted(p for p in tmp_path.rglob("*"))
    serving = settings.model_copy(update={"model_version": "champion"})
    with pytest.raises(ModelRegistryError, match="not a model version") as refused:
        load_model(serving)
    assert "\n" not in str(refused.value)
    assert sorted(p for p in tmp_path.rglob("*")) == before, "something was written"


def test_a_hostile_history_entry_is_refused_before_a_rollback_can_deploy_it(registry):
    entry = {"version": "x\nrm -rf /", "promoted": "2026-01-01T00:00:00", "image": "img:1"}
    registry.s3.put_object(Bucket=registry.bucket, Key=f"{HISTORY_PREFIX}1.json", Body=json.dumps(entry).encode())
    with pytest.raises(ModelRegistryError, match="not a model version"):
        registry.history()


@pytest.mark.parametrize("version", HOSTILE)
def test_settings_refuse_a_hostile_model_version(version):
    with pytest.raises(ValidationError, match="invalid model version"):
        PipelineSettings(model_version=version, _env_file=None)


@pytest.mark.parametrize("stage", ["pipeline.deploy", "pipeline.build"])
def test_the_command_line_refuses_a_hostile_model_version_in_one_line(stage, tmp_path, clean_env):
    env = {**clean_env, "ARTIFACTS_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", stage, "--model-version", "abcdef012345\n; touch /tmp/pwned"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().count("\n") == 0 and "invalid model version" in done.stderr


@pytest.mark.parametrize(
    ("key", "body"),
    [
        (CHAMPION_KEY, b"[]"),
        (CHAMPION_KEY, b"{}"),
        (CHAMPION_KEY, b"{not json"),
        ("models/aaaaaaaaaaaa/manifest.json", b'{"version": "aaaaaaaaaaaa", "files": []}'),
        ("models/aaaaaaaaaaaa/manifest.json", b"[1, 2]"),
    ],
)
def test_a_malformed_registry_document_is_one_clear_error(registry, settings, key, body):
    registry.s3.put_object(Bucket=registry.bucket, Key=key, Body=body)
    version = "champion" if key == CHAMPION_KEY else "aaaaaaaaaaaa"
    if version != "champion":  # the manifest names files that exist, so the shape is what fails
        for name in ("model.tflite", "vocabulary.json", "metadata.json"):
            registry.s3.put_object(Bucket=registry.bucket, Key=f"models/{version}/{name}", Body=b"x")
    with pytest.raises(ModelRegistryError) as refused:
        load_model(settings.model_copy(update={"model_version": version}))
    assert "\n" not in str(refused.value)
