"""build's signing step on an in-memory repository: it signs with the bound key, checks the result with the
environment's public key, and keeps a reused image's valid signature (the registry: test_image.py)."""

from pathlib import Path

import pytest

from pipeline.errors import StageError
from pipeline.settings import PipelineSettings
from pipeline.stages.build import signed
from pipeline.supply_chain import image_signatures
from pipeline.supply_chain.keys import generate_key_pair

IMAGE = "127.0.0.1:5000/sentiment-api-local@sha256:" + "a" * 64


class Repository:
    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}
        self.uploads = 0

    def reader(self) -> image_signatures.RegistryReader:
        return image_signatures.RegistryReader(self.stored.get, self.stored.__getitem__)

    def upload(self, upload: image_signatures.SignatureUpload) -> None:
        self.uploads += 1
        self.stored |= {image_signatures.digest_of(b): b for b in upload.blobs} | {upload.tag: upload.manifest}


class Environment:
    name = "local"

    def __init__(self, artifacts: Path, key_file: Path | None = None) -> None:
        self.settings = PipelineSettings(
            project_env="local", artifacts_dir=artifacts, image_signing_key_file=key_file, _env_file=None
        )
        self.repository = Repository()

    def image_registry_access(self, registry: str, repository: str) -> Repository:
        assert f"{registry}/{repository}" == IMAGE.partition("@")[0]
        return self.repository


def test_build_signs_with_a_local_pair_made_on_first_use_and_keeps_a_valid_signature(tmp_path):
    environment = Environment(tmp_path)
    signed(environment, IMAGE, reused=False)
    public_key = (tmp_path / "keys" / "image-signing.pub").read_bytes()
    image_signatures.verify(IMAGE, environment.repository.reader(), public_key)
    signed(environment, IMAGE, reused=True)  # a reused image that verifies is not signed again
    assert environment.repository.uploads == 1


def test_a_bound_key_that_does_not_match_the_trusted_public_key_stops_the_build(tmp_path):
    generate_key_pair(tmp_path / "keys" / "image-signing.key", tmp_path / "keys" / "image-signing.pub")
    generate_key_pair(tmp_path / "stray.key", tmp_path / "stray.pub")
    environment = Environment(tmp_path, key_file=tmp_path / "stray.key")
    with pytest.raises(StageError, match=r"^signing .*: image .* is not signed with this environment's image signing"):
        signed(environment, IMAGE, reused=False)


def test_a_reused_image_signed_with_a_retired_key_is_signed_again(tmp_path):
    generate_key_pair(tmp_path / "old.key", tmp_path / "old.pub")
    generate_key_pair(tmp_path / "keys" / "image-signing.key", tmp_path / "keys" / "image-signing.pub")  # the new
    environment = Environment(tmp_path)
    environment.repository.upload(image_signatures.signature_upload(IMAGE, (tmp_path / "old.key").read_bytes()))
    signed(environment, IMAGE, reused=True)
    image_signatures.verify(IMAGE, environment.repository.reader(), (tmp_path / "keys/image-signing.pub").read_bytes())
    assert environment.repository.uploads == 2


@pytest.mark.parametrize(
    "content", [b"not a key", b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBAA==\n-----END ENCRYPTED PRIVATE KEY-----\n"]
)
def test_an_unreadable_bound_key_is_one_line(tmp_path, content):
    (tmp_path / "bound.key").write_bytes(content)
    with pytest.raises(StageError, match=r"bound\.key is not an unencrypted PEM private key$"):
        signed(Environment(tmp_path, key_file=tmp_path / "bound.key"), IMAGE, reused=False)
