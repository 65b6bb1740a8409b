"""Sign a model version's files with OpenSSF model-signing (key-based, offline), and re-sign after a rotation.

The signature covers every file of the version, by name and sha256, so a changed, added or removed
file fails verification (sentiment.model_signature, which the service and the pipeline both check with).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from pipeline.model_registry import ModelRegistryWriter
from sentiment.model_registry import ModelRegistry
from sentiment.model_signature import SIGNATURE_FILE, SignatureError


def sign_files(files: dict[str, Path], private_key: Path) -> bytes:
    """The signature bundle (JSON) over `files` ({name in the version: local path}), signed with `private_key`."""
    import model_signing  # the pipeline's alone: the service checks signatures without it

    with tempfile.TemporaryDirectory(prefix="model-signing-") as work:
        directory = Path(work) / "model"
        directory.mkdir()
        for name, path in files.items():
            shutil.copyfile(path, directory / name)
        signature = Path(work) / SIGNATURE_FILE
        try:
            model_signing.signing.Config().use_elliptic_key_signer(private_key=private_key).sign(directory, signature)
        except ValueError as exc:
            raise SignatureError(f"cannot sign with {private_key}: {exc}") from None
        return signature.read_bytes()


def resign(model_registry: ModelRegistryWriter, version: str, previous_key: bytes, private_key: Path) -> None:
    """Re-sign a published `version` with `private_key`, after a key rotation: only a version whose current
    signature verifies with `previous_key` (the retired public key), file for file as downloaded now."""
    previous = ModelRegistry(model_registry.s3, model_registry.bucket, previous_key)
    manifest, _ = previous.verified_manifest(version)
    with tempfile.TemporaryDirectory(prefix=f"resign-{version}-") as work:
        files = {name: Path(work) / name for name in manifest["files"]}
        for name, path in files.items():
            path.write_bytes(previous.published_file(version, name) or b"")
        model_registry.put_signature(version, sign_files(files, private_key))
