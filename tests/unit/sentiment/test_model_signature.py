"""The service's signature reader against model-signing's own signer and verifier, and its refusals."""

import json
from pathlib import Path

import model_signing
import pytest

from pipeline.supply_chain.keys import generate_key_pair
from pipeline.supply_chain.model_signer import sign_files
from sentiment.artifact import sha256_file
from sentiment.model_signature import SignatureError, check_files, signed_files
from sentiment.settings import Settings


@pytest.fixture
def keys(tmp_path):
    pairs = {}
    for name in ("ours", "other"):
        generate_key_pair(tmp_path / f"{name}.key", tmp_path / f"{name}.pub")
        pairs[name] = (tmp_path / f"{name}.key", tmp_path / f"{name}.pub")
    return pairs


@pytest.fixture
def model(tmp_path):
    directory = tmp_path / "model"
    directory.mkdir()
    (directory / "model.tflite").write_bytes(b"\x00weights" * 100)
    (directory / "vocabulary.json").write_text('{"a": 1}')
    (directory / "metadata.json").write_text('{"version": "0123456789ab"}')
    return directory


def files_of(directory: Path) -> dict[str, Path]:
    return {path.name: path for path in sorted(directory.iterdir())}


def digests(directory: Path) -> dict[str, str]:
    return {name: sha256_file(path) for name, path in files_of(directory).items()}


def test_a_signature_model_signing_makes_and_accepts_is_accepted(model, keys, tmp_path):
    bundle = sign_files(files_of(model), keys["ours"][0])
    (tmp_path / "model.sig").write_bytes(bundle)
    model_signing.verifying.Config().use_elliptic_key_verifier(public_key=keys["ours"][1]).verify(
        model, tmp_path / "model.sig"
    )
    assert signed_files(bundle, keys["ours"][1].read_bytes(), "model.sig") == digests(model)


def test_another_key_is_refused_here_as_by_model_signing(model, keys, tmp_path):
    bundle = sign_files(files_of(model), keys["other"][0])
    (tmp_path / "model.sig").write_bytes(bundle)
    with pytest.raises(ValueError):
        model_signing.verifying.Config().use_elliptic_key_verifier(public_key=keys["ours"][1]).verify(
            model, tmp_path / "model.sig"
        )
    with pytest.raises(SignatureError, match=r"^s3://b/model.sig does not verify with this environment's"):
        signed_files(bundle, keys["ours"][1].read_bytes(), "s3://b/model.sig")


def test_an_altered_statement_is_refused(model, keys):
    """A signature whose statement was edited (a digest swapped in) no longer verifies."""
    bundle = json.loads(sign_files(files_of(model), keys["ours"][0]))
    payload = bundle["dsseEnvelope"]["payload"]
    import base64

    statement = json.loads(base64.b64decode(payload))
    statement["predicate"]["resources"][0]["digest"] = "0" * 64
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    with pytest.raises(SignatureError, match="does not verify"):
        signed_files(json.dumps(bundle).encode(), keys["ours"][1].read_bytes(), "model.sig")


@pytest.mark.parametrize("body", [b"", b"{}", b"not json", b'{"dsseEnvelope": {"payloadType": "x"}}'])
def test_what_is_not_a_signature_is_refused(body, keys):
    with pytest.raises(SignatureError, match="is not a model signature"):
        signed_files(body, keys["ours"][1].read_bytes(), "model.sig")


def test_a_key_that_is_not_an_elliptic_curve_public_key_is_refused(model, keys):
    bundle = sign_files(files_of(model), keys["ours"][0])
    with pytest.raises(SignatureError, match="not a PEM public key"):
        signed_files(bundle, keys["ours"][0].read_bytes(), "model.sig")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.update({"vocabulary.json": "f" * 64}), "vocabulary.json was changed after signing"),
        (lambda f: f.update({"extra.bin": "e" * 64}), "extra.bin was added after signing"),
        (lambda f: f.pop("metadata.json"), "metadata.json was removed after signing"),
    ],
    ids=["changed", "added", "removed"],
)
def test_files_other_than_the_signed_ones_are_refused_naming_the_file(model, change, message):
    signed = digests(model)
    listed = dict(signed)
    change(listed)
    with pytest.raises(SignatureError, match=f"^model 0123456789ab: {message}"):
        check_files(signed, listed, "0123456789ab")
    check_files(signed, dict(signed), "0123456789ab")


@pytest.mark.parametrize("env", ["dev", "qa", "prod"])
def test_each_aws_environment_checks_with_its_committed_public_key(env, tmp_path):
    key = Settings(project_env=env, artifacts_dir=tmp_path).trusted_model_key()
    assert key == (Path(__file__).parents[3] / "src/sentiment/signing_keys" / f"{env}.pub").read_bytes()
    assert b"PRIVATE" not in key


def test_locally_signatures_are_checked_once_the_key_pair_exists(tmp_path):
    settings = Settings(project_env="local", artifacts_dir=tmp_path)
    assert settings.trusted_model_key() is None
    with pytest.raises(SignatureError, match="MODEL_SIGNATURE_REQUIRED is set but there is no public key"):
        settings.model_copy(update={"model_signature_required": True}).trusted_model_key()
    generate_key_pair(tmp_path / "keys" / "model-signing.key", settings.local_public_key_file)
    assert settings.trusted_model_key() == settings.local_public_key_file.read_bytes()
    assert settings.model_copy(update={"model_signature_required": False}).trusted_model_key() is None


def test_the_public_key_can_be_given_as_text_or_as_a_path(tmp_path, keys):
    pem = keys["ours"][1].read_bytes()
    for given in (pem.decode(), str(keys["ours"][1])):
        assert Settings(model_signing_public_key=given, artifacts_dir=tmp_path).trusted_model_key() == pem
    with pytest.raises(SignatureError, match="cannot read"):
        Settings(model_signing_public_key=str(tmp_path / "missing.pub")).trusted_model_key()
