"""The private keys `publish` signs model versions with and `build` signs images with.

In dev/qa/prod each is a Jenkins secret-file credential, bound (MODEL_SIGNING_KEY_FILE in Publish,
IMAGE_SIGNING_KEY_FILE in Build) only in the stage that signs with it; the public halves are committed:
src/sentiment/signing_keys/<env>.pub (the service checks models too) and
pipeline/supply_chain/image_signing_keys/<env>.pub (the pipeline and the instances check images). Locally
a key pair of each is made on first use under <artifacts>/keys/ (never committed: .gitignore holds artifacts/).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pipeline.errors import StageError
from pipeline.settings import PipelineSettings

LOCAL_PRIVATE_KEY = "model-signing.key"  # pragma: allowlist secret (a file name)
LOCAL_IMAGE_KEY = "image-signing.key"  # pragma: allowlist secret (a file name)
COMMITTED_IMAGE_KEYS = Path(__file__).resolve().parent / "image_signing_keys"


def generate_key_pair(private_file: Path, public_file: Path) -> None:
    """A new P-256 key pair: the private half readable by its owner only."""
    key = ec.generate_private_key(ec.SECP256R1())
    private_file.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(private_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    public_file.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _bound_key(variable: str, path: Path) -> Path:
    """The private key file a credential binding names (Jenkins writes it before the stage runs)."""
    if not path.is_file():
        raise StageError(f"{variable} names {path}, which does not exist")
    return path


def signing_key(settings: PipelineSettings, progress=print) -> Path:
    """The private key file to sign with; where no public key is trusted yet (a fresh local checkout), a key
    pair is made under <artifacts>/keys/. A StageError where a public key is trusted but no key is bound."""
    if settings.model_signing_key_file is not None:
        return _bound_key("MODEL_SIGNING_KEY_FILE", settings.model_signing_key_file)
    private_file = settings.local_public_key_file.with_name(LOCAL_PRIVATE_KEY)
    if private_file.is_file():
        return private_file
    if settings.trusted_model_key() is not None:
        raise StageError(
            f"no model signing key: MODEL_SIGNING_KEY_FILE must name the private key of {settings.project_env}'s "
            "public key (Jenkins binds the secret file credential "
            f"sentiment-api-model-signing-key-{settings.project_env} in Publish)"
        )
    generate_key_pair(private_file, settings.local_public_key_file)
    progress(f"made a local model signing key pair in {private_file.parent} (never commit it)")
    return private_file


def local_image_public_key_file(settings: PipelineSettings) -> Path:
    return settings.artifacts_dir / "keys" / "image-signing.pub"


def committed_image_public_key_file(settings: PipelineSettings) -> Path:
    return COMMITTED_IMAGE_KEYS / f"{settings.project_env}.pub"


def image_public_key_file(settings: PipelineSettings) -> Path:
    """The public key images must be signed with here: the committed one (dev/qa/prod), else the local pair's."""
    committed = committed_image_public_key_file(settings)
    return committed if committed.is_file() else local_image_public_key_file(settings)


def trusted_image_key(settings: PipelineSettings) -> bytes:
    """The public key (PEM) deploy and rollback check images with; a StageError when there is none, so that
    nothing runs unchecked (locally the first `build` makes the pair)."""
    path = image_public_key_file(settings)
    try:
        return path.read_bytes()
    except OSError:
        raise StageError(
            f"no image signing public key for {settings.project_env}: {path} is missing (build makes it on first use)"
        ) from None


def image_signing_key(settings: PipelineSettings, progress=print) -> Path:
    """The private key file `build` signs images with. Where a public key is committed (dev/qa/prod) only the
    bound credential (IMAGE_SIGNING_KEY_FILE) will do; elsewhere a pair is made on first use under <artifacts>/keys/."""
    if settings.image_signing_key_file is not None:
        return _bound_key("IMAGE_SIGNING_KEY_FILE", settings.image_signing_key_file)
    if committed_image_public_key_file(settings).is_file():
        raise StageError(
            f"no image signing key: IMAGE_SIGNING_KEY_FILE must name the private key of {settings.project_env}'s "
            "public key (Jenkins binds the secret file credential "
            f"sentiment-api-image-signing-key-{settings.project_env} in Build)"
        )
    public_file = local_image_public_key_file(settings)
    private_file = public_file.with_name(LOCAL_IMAGE_KEY)
    if private_file.is_file() and public_file.is_file():
        return private_file
    if private_file.exists() or public_file.exists():  # half a pair: never guess which half is right
        raise StageError(f"{public_file.parent} holds half of the image signing key pair: remove both, build again")
    generate_key_pair(private_file, public_file)
    progress(f"made a local image signing key pair in {private_file.parent} (never commit it)")
    return private_file
