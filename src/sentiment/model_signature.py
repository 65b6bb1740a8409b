"""A model version's signature, read side: checked offline with the environment's public key.

`python -m pipeline.publish` signs every file of a version with OpenSSF model-signing (key-based): a
Sigstore bundle (`models/<version>/model.sig`) holding a DSSE envelope over an in-toto statement that
lists each file's sha256. It is checked here with `cryptography` alone: model-signing's own verifier
would bring sigstore, tuf, rich and requests into the image for one ECDSA check and a list comparison
(tests/unit/sentiment/test_model_signature.py holds this reader to model-signing's verifier).

A version verifies when the signature is valid for the trusted key and the files it lists are exactly
the files of the version's manifest, digest for digest; the manifest's digests are in turn checked
against every downloaded file (sentiment.model_registry), so a changed, added or removed file is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sentiment.artifact import ArtifactError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

SIGNATURE_FILE = "model.sig"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
# model-signing's choice of digest per curve (Sigstore's key details). `cryptography` is imported where a
# signature is checked: a worker serving a model it did not download never loads it (about 9 MB of RSS).
_DIGESTS = {256: "SHA256", 384: "SHA384", 521: "SHA512"}


class SignatureError(ArtifactError):
    """A model version is unsigned, signed with another key, or its files are not the ones signed."""


def public_key(pem: bytes, where: str = "the model signing public key") -> ec.EllipticCurvePublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise SignatureError(f"{where} is not a PEM public key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.key_size not in _DIGESTS:
        raise SignatureError(f"{where} is not an elliptic-curve key on P-256, P-384 or P-521")
    return key


def _pae(payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what the signature is over."""
    return b"DSSEv1 %d %s %d %s" % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(payload), payload)


def signed_files(bundle: bytes, trusted_key: bytes, where: str) -> dict[str, str]:
    """{file name: sha256} the signature bundle `bundle` (read from `where`) covers, once it verifies
    with `trusted_key` (PEM); SignatureError otherwise."""
    try:
        envelope = json.loads(bundle)["dsseEnvelope"]
        if envelope["payloadType"] != PAYLOAD_TYPE:
            raise ValueError(envelope["payloadType"])
        payload = base64.b64decode(envelope["payload"], validate=True)
        signature = base64.b64decode(envelope["signatures"][0]["sig"], validate=True)
    except (ValueError, KeyError, IndexError, TypeError, binascii.Error):
        raise SignatureError(f"{where} is not a model signature (a Sigstore bundle with a DSSE envelope)") from None
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = public_key(trusted_key)
    try:
        key.verify(signature, _pae(payload), ec.ECDSA(getattr(hashes, _DIGESTS[key.curve.key_size])()))
    except InvalidSignature:
        raise SignatureError(
            f"{where} does not verify with this environment's model signing key: signed with another key, or altered"
        ) from None
    return _resources(json.loads(payload), where)


def _resources(statement: Any, where: str) -> dict[str, str]:
    try:
        if statement["predicateType"] != PREDICATE_TYPE or statement["predicate"]["serialization"]["method"] != "files":
            raise ValueError("not a per-file model signature")
        resources = statement["predicate"]["resources"]
        if any(r["algorithm"] != "sha256" for r in resources):
            raise ValueError("a digest other than sha256")
        return {str(r["name"]): str(r["digest"]) for r in resources}
    except (KeyError, TypeError, ValueError) as exc:
        raise SignatureError(f"{where} signs something other than a model directory ({exc})") from None


def check_files(signed: Mapping[str, str], listed: Mapping[str, str], version: str) -> None:
    """Refuse, naming the file, unless `listed` ({name: sha256} of the version) is exactly what was signed."""
    for name in sorted(set(signed) | set(listed)):
        if name not in signed:
            raise SignatureError(f"model {version}: {name} was added after signing (the signature does not cover it)")
        if name not in listed:
            raise SignatureError(f"model {version}: {name} was removed after signing")
        if signed[name] != listed[name]:
            raise SignatureError(f"model {version}: {name} was changed after signing")
