"""Image signatures as pure logic: what verifies and what is refused, on an in-memory repository (the
registry itself, build and deploy: tests/integration/release/test_image.py)."""

import json
from pathlib import Path

import pytest

from pipeline.errors import StageError
from pipeline.settings import PipelineSettings
from pipeline.supply_chain import image_signatures
from pipeline.supply_chain.image_signatures import ImageSignatureError, RegistryReader, signature_upload, verify
from pipeline.supply_chain.keys import COMMITTED_IMAGE_KEYS, generate_key_pair, image_signing_key, trusted_image_key

REPOSITORY = "127.0.0.1:5000/sentiment-api-local"
DIGEST = "sha256:" + "a" * 64
IMAGE = f"{REPOSITORY}@{DIGEST}"


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, tuple[bytes, bytes]]:
    made = {}
    for name in ("ours", "theirs"):
        folder = tmp_path_factory.mktemp(name)
        generate_key_pair(folder / "k.key", folder / "k.pub")
        made[name] = ((folder / "k.key").read_bytes(), (folder / "k.pub").read_bytes())
    return made


def stored(*uploads: image_signatures.SignatureUpload) -> tuple[RegistryReader, dict[str, bytes]]:
    """A repository holding the uploads (the last one per tag wins, as a registry's tag does)."""
    manifests, blobs = {}, {}
    for upload in uploads:
        manifests[upload.tag] = upload.manifest
        blobs |= {image_signatures.digest_of(blob): blob for blob in upload.blobs}
    return RegistryReader(manifests.get, blobs.__getitem__), manifests


def test_a_signed_image_verifies_with_its_key(keys):
    reader, _ = stored(signature_upload(IMAGE, keys["ours"][0]))
    verify(IMAGE, reader, keys["ours"][1])


def test_the_signature_is_stored_as_containers_image_and_cosign_store_it(keys):
    upload = signature_upload(IMAGE, keys["ours"][0])
    assert upload.tag == "sha256-" + "a" * 64 + ".sig"
    (layer,) = json.loads(upload.manifest)["layers"]
    assert layer["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
    payload = json.loads(upload.blobs[0])
    assert payload["critical"] == {
        "identity": {"docker-reference": REPOSITORY},
        "image": {"docker-manifest-digest": DIGEST},
        "type": "cosign container image signature",
    }


def test_an_unsigned_image_is_refused(keys):
    reader, _ = stored()
    with pytest.raises(ImageSignatureError, match=rf"^image {IMAGE} is unsigned: {REPOSITORY} has no signature"):
        verify(IMAGE, reader, keys["ours"][1])


def test_an_image_signed_with_another_key_is_refused(keys):
    reader, _ = stored(signature_upload(IMAGE, keys["theirs"][0]))
    with pytest.raises(ImageSignatureError, match="signed with another key, or altered"):
        verify(IMAGE, reader, keys["ours"][1])


def test_a_signature_of_another_image_or_repository_is_refused(keys):
    other_digest = "sha256:" + "b" * 64
    theirs = signature_upload(f"{REPOSITORY}@{other_digest}", keys["ours"][0])
    reader, _ = stored(
        image_signatures.SignatureUpload(signature_upload(IMAGE, keys["ours"][0]).tag, theirs.blobs, theirs.manifest)
    )
    with pytest.raises(ImageSignatureError, match=rf"the signature is for another image \({other_digest}\)"):
        verify(IMAGE, reader, keys["ours"][1])
    elsewhere = signature_upload(f"127.0.0.1:5000/other@{DIGEST}", keys["ours"][0])
    reader, _ = stored(elsewhere)
    with pytest.raises(ImageSignatureError, match=r"the signature is for another repository \(127.0.0.1:5000/other\)"):
        verify(IMAGE, reader, keys["ours"][1])


@pytest.mark.parametrize("manifest", [b"{not json", b"[]", b'{"layers": [{"mediaType": "text/plain"}]}'])
def test_an_unreadable_signature_is_refused_in_one_line(keys, manifest):
    reader = RegistryReader({image_signatures.signature_tag(DIGEST): manifest}.get, lambda digest: b"")
    with pytest.raises(ImageSignatureError, match=r"unreadable signature") as refused:
        verify(IMAGE, reader, keys["ours"][1])
    assert "\n" not in str(refused.value)


def test_a_payload_changed_after_signing_is_refused(keys):
    upload = signature_upload(IMAGE, keys["ours"][0])
    reader, _ = stored(upload)
    blobs = {image_signatures.digest_of(b): b for b in upload.blobs}
    payload_digest = json.loads(upload.manifest)["layers"][0]["digest"]
    blobs[payload_digest] = blobs[payload_digest].replace(b"a" * 64, b"c" * 64)
    with pytest.raises(ImageSignatureError, match="a payload does not match its digest"):
        verify(IMAGE, RegistryReader(reader.manifest, blobs.__getitem__), keys["ours"][1])


def test_the_repository_of_a_reference_keeps_the_registrys_port():
    assert image_signatures._repository_of("127.0.0.1:5000/a/b:tag") == "127.0.0.1:5000/a/b"
    assert image_signatures._repository_of("127.0.0.1:5000/a/b@sha256:00") == "127.0.0.1:5000/a/b"
    assert image_signatures._repository_of("127.0.0.1:5000/a") == "127.0.0.1:5000/a"


def test_the_policy_admits_only_the_repositorys_images_signed_with_the_key(tmp_path):
    policy = image_signatures.policy(REPOSITORY, tmp_path / "k.pub")
    assert policy["default"] == [{"type": "reject"}]
    (rule,) = policy["transports"]["docker"][REPOSITORY]
    assert rule["type"] == "sigstoreSigned" and rule["keyPath"] == str(tmp_path / "k.pub")


def test_locally_an_image_key_pair_is_made_on_first_use_and_trusted(tmp_path):
    settings = PipelineSettings(project_env="local", artifacts_dir=tmp_path, _env_file=None)
    with pytest.raises(StageError, match=r"no image signing public key for local: .* \(build makes it on first use\)"):
        trusted_image_key(settings)
    said: list[str] = []
    private = image_signing_key(settings, progress=said.append)
    assert private == tmp_path / "keys" / "image-signing.key" and len(said) == 1
    assert (private.stat().st_mode & 0o777) == 0o600
    assert trusted_image_key(settings) == (tmp_path / "keys" / "image-signing.pub").read_bytes()
    assert image_signing_key(settings, progress=said.append) == private and len(said) == 1


@pytest.mark.parametrize("env", ["dev", "qa", "prod"])
def test_aws_environments_sign_images_only_with_the_key_jenkins_binds_and_trust_the_committed_key(env, tmp_path):
    settings = PipelineSettings(project_env=env, artifacts_dir=tmp_path, _env_file=None)
    with pytest.raises(StageError, match=f"IMAGE_SIGNING_KEY_FILE .* sentiment-api-image-signing-key-{env} in Build"):
        image_signing_key(settings)
    assert not (tmp_path / "keys").exists()
    assert trusted_image_key(settings) == (COMMITTED_IMAGE_KEYS / f"{env}.pub").read_bytes()
    assert b"BEGIN PUBLIC KEY" in trusted_image_key(settings)


def test_half_a_local_key_pair_is_refused_not_replaced(tmp_path):
    settings = PipelineSettings(project_env="local", artifacts_dir=tmp_path, _env_file=None)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "image-signing.pub").write_text("kept")
    with pytest.raises(StageError, match="holds half of the image signing key pair"):
        image_signing_key(settings)
    assert Path(tmp_path / "keys" / "image-signing.pub").read_text() == "kept"
