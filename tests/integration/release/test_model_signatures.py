"""Signed model versions on the emulator: a published version verifies; a changed, added or removed
file, a signature by another key, or none at all is refused at download and at service start in one
line naming what; key rotation refuses the old key's signatures until the version is re-signed."""

import hashlib
import json
from pathlib import Path

import pytest

from pipeline.stages.publish import publishable_files
from pipeline.supply_chain.keys import generate_key_pair
from pipeline.supply_chain.model_signer import resign, sign_files
from sentiment.loader import load_model
from sentiment.model_registry import MANIFEST_FILE, ModelRegistry, version_prefix
from sentiment.model_signature import SIGNATURE_FILE, SignatureError

pytestmark = pytest.mark.slow
QUALITY_GATES = Path(__file__).resolve().parents[3] / "quality_gates"


@pytest.fixture
def keys(tmp_path):
    """(private, public) key files: the environment's, and another (an attacker's, or the next after a rotation)."""
    pairs = {}
    for name in ("ours", "other"):
        generate_key_pair(tmp_path / "keys" / f"{name}.key", tmp_path / "keys" / f"{name}.pub")
        pairs[name] = (tmp_path / "keys" / f"{name}.key", tmp_path / "keys" / f"{name}.pub")
    return pairs


@pytest.fixture
def upload(blessed):
    return publishable_files(*blessed, QUALITY_GATES / "thresholds.toml", QUALITY_GATES)


@pytest.fixture
def version(registry, upload, keys):
    signature = sign_files(upload.files, keys["ours"][0])
    manifest, _ = registry.publish(upload.files, upload.metadata, progress=lambda m: None, signature=signature)
    return manifest["version"]


def trusting(registry, public_key_file) -> ModelRegistry:
    return ModelRegistry(registry.s3, registry.bucket, public_key_file.read_bytes())


def serving(settings, version, public_key_file):
    return settings.model_copy(update={"model_version": version, "model_signing_public_key": str(public_key_file)})


def rewrite_manifest(registry, version, change):
    """What whoever can write to the bucket can do: change the files and the manifest's checksums with them."""
    key = version_prefix(version) + MANIFEST_FILE
    manifest = json.loads(registry.s3.get_object(Bucket=registry.bucket, Key=key)["Body"].read())
    change(manifest["files"])
    registry.s3.put_object(Bucket=registry.bucket, Key=key, Body=json.dumps(manifest).encode())


def put_file(registry, version, name, body: bytes):
    registry.s3.put_object(Bucket=registry.bucket, Key=version_prefix(version) + name, Body=body)
    rewrite_manifest(registry, version, lambda f: f.update({name: {"sha256": hashlib.sha256(body).hexdigest()}}))


def change_file(registry, version, keys, upload):
    put_file(registry, version, "vocabulary.json", upload.files["vocabulary.json"].read_bytes().replace(b"1", b"2", 1))
    return "vocabulary.json was changed after signing"


def add_file(registry, version, keys, upload):
    put_file(registry, version, "extra.json", b"{}")
    return "extra.json was added after signing"


def remove_file(registry, version, keys, upload):
    registry.s3.delete_object(Bucket=registry.bucket, Key=version_prefix(version) + "model.keras")
    rewrite_manifest(registry, version, lambda f: f.pop("model.keras"))
    return "model.keras was removed after signing"


def sign_with_another_key(registry, version, keys, upload):
    registry.put_signature(version, sign_files(upload.files, keys["other"][0]))
    return f"{SIGNATURE_FILE} does not verify with this environment's model signing key"


def unsign(registry, version, keys, upload):
    registry.s3.delete_object(Bucket=registry.bucket, Key=version_prefix(version) + SIGNATURE_FILE)
    return f"model {version} is unsigned"


TAMPERINGS = [change_file, add_file, remove_file, sign_with_another_key, unsign]


def test_a_signed_version_verifies_at_download_and_serves(registry, version, keys, settings):
    assert trusting(registry, keys["ours"][1]).fetch(version, settings.model_cache_dir).is_dir()
    served = load_model(serving(settings, version, keys["ours"][1]))
    assert served.version == version


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=lambda t: t.__name__)
def test_a_tampered_version_is_refused_at_download_and_at_service_start(
    tamper, registry, version, keys, upload, settings
):
    expected = tamper(registry, version, keys, upload)
    with pytest.raises(SignatureError) as refused:
        trusting(registry, keys["ours"][1]).fetch(version, settings.model_cache_dir)
    assert expected in str(refused.value) and "\n" not in str(refused.value)
    assert not (settings.model_cache_dir / version).exists(), "nothing that failed verification is cached"
    with pytest.raises(SignatureError, match=expected):
        load_model(serving(settings, version, keys["ours"][1]))
    with pytest.raises(SignatureError, match=expected):
        trusting(registry, keys["ours"][1]).published_file(version, "profile.json")


def test_a_cached_copy_is_served_offline_only_with_its_signature(registry, version, keys, settings):
    """The bucket unreachable, the cached copy serves only if the signature stored with it verifies."""
    trusting(registry, keys["ours"][1]).fetch(version, settings.model_cache_dir)
    offline = serving(settings, version, keys["ours"][1]).model_copy(update={"model_bucket_name": "no-such-bucket"})
    assert load_model(offline).version == version  # NoSuchBucket: a ClientError, so the cache is used
    with pytest.raises(SignatureError, match="does not verify"):
        load_model(offline.model_copy(update={"model_signing_public_key": str(keys["other"][1])}))


def test_after_a_key_rotation_the_old_signature_is_refused_until_the_version_is_re_signed(
    registry, version, keys, settings
):
    old, new = keys["ours"], keys["other"]
    with pytest.raises(SignatureError, match="does not verify"):
        trusting(registry, new[1]).fetch(version, settings.model_cache_dir)
    with pytest.raises(SignatureError, match="does not verify"):
        resign(registry, version, new[1].read_bytes(), new[0])  # only what the retired key vouched for
    resign(registry, version, old[1].read_bytes(), new[0])
    assert trusting(registry, new[1]).fetch(version, settings.model_cache_dir).is_dir()
    with pytest.raises(SignatureError, match="does not verify"):
        trusting(registry, old[1]).fetch(version, settings.model_cache_dir)
