"""The private key `publish` signs model versions with.

In dev/qa/prod it is a Jenkins secret-file credential, bound (MODEL_SIGNING_KEY_FILE) only in the
stages that sign; its public half is committed as src/sentiment/signing_keys/<env>.pub. Locally a key
pair is made on first use under <artifacts>/keys/ (never committed: .gitignore holds artifacts/).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pipeline.errors import StageError
from pipeline.settings import PipelineSettings

LOCAL_PRIVATE_KEY = "model-signing.key"  # pragma: allowlist secret (a file name)


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


def signing_key(settings: PipelineSettings, progress=print) -> Path:
    """The private key file to sign with; where no public key is trusted yet (a fresh local checkout), a key
    pair is made under <artifacts>/keys/. A StageError where a public key is trusted but no key is bound."""
    if settings.model_signing_key_file is not None:
        if not settings.model_signing_key_file.is_file():
            raise StageError(f"MODEL_SIGNING_KEY_FILE names {settings.model_signing_key_file}, which does not exist")
        return settings.model_signing_key_file
    private_file = settings.local_public_key_file.with_name(LOCAL_PRIVATE_KEY)
    if private_file.is_file():
        return private_file
    if settings.trusted_model_key() is not None:
        raise StageError(
            f"no model signing key: MODEL_SIGNING_KEY_FILE must name the private key of {settings.project_env}'s "
            f"public key (Jenkins binds the secret file credential model-signing-key-{settings.project_env})"
        )
    generate_key_pair(private_file, settings.local_public_key_file)
    progress(f"made a local model signing key pair in {private_file.parent} (never commit it)")
    return private_file
