"""Where publish's signing key comes from, and that no private key is ever in the repository."""

import re
import stat
from pathlib import Path

import pytest

from pipeline.errors import StageError
from pipeline.settings import PipelineSettings
from pipeline.supply_chain.keys import signing_key

REPO = Path(__file__).resolve().parents[4]
PEM_PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\s+[A-Za-z0-9+/=]{40}")


def test_locally_a_key_pair_is_made_on_first_use_readable_by_its_owner_only(tmp_path):
    settings = PipelineSettings(project_env="local", artifacts_dir=tmp_path)
    said = []
    private = signing_key(settings, progress=said.append)
    assert private == tmp_path / "keys" / "model-signing.key" and settings.local_public_key_file.is_file()
    assert stat.S_IMODE(private.stat().st_mode) == 0o600 and b"PRIVATE KEY" in private.read_bytes()
    assert len(said) == 1 and "never commit" in said[0]
    first = private.read_bytes()
    assert signing_key(settings, progress=said.append).read_bytes() == first and len(said) == 1


@pytest.mark.parametrize("env", ["dev", "qa", "prod"])
def test_aws_environments_sign_only_with_the_key_jenkins_binds(env, tmp_path):
    needs = f"MODEL_SIGNING_KEY_FILE must name the private key .*sentiment-api-model-signing-key-{env} in Publish"
    with pytest.raises(StageError, match=needs):
        signing_key(PipelineSettings(project_env=env, artifacts_dir=tmp_path))
    assert not (tmp_path / "keys").exists()
    bound = tmp_path / "bound.pem"
    with pytest.raises(StageError, match="does not exist"):
        signing_key(PipelineSettings(project_env=env, model_signing_key_file=bound))
    bound.write_text("the secret file Jenkins binds")
    assert signing_key(PipelineSettings(project_env=env, model_signing_key_file=bound)) == bound


def test_the_local_keys_are_ignored_by_git_and_no_private_key_is_in_the_tree():
    assert "artifacts/" in (REPO / ".gitignore").read_text().splitlines()
    assert PipelineSettings().local_public_key_file.parts[:1] == ("artifacts",)
    found = [
        path
        for top in ("src", "pipeline", "infra", "tests", "docs")
        for path in (REPO / top).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and PEM_PRIVATE_KEY.search(path.read_bytes())
    ]
    assert found == [], f"private keys in the repository: {found}"
