"""Sigstore signatures of images, as containers/image (skopeo, podman) and cosign write and check them.

`build` signs the pushed image by digest: the signature is stored in the image registry itself as a
"sigstore attachment", an OCI manifest tagged `sha256-<digest hex>.sig` in the image's repository, whose
layers are signed payloads (a JSON "cosign container image signature" naming the image's manifest digest
and repository), each with its base64 ECDSA signature in an annotation. `deploy` and `rollback` read that
manifest over the registry protocol and check it here, before they plan; the instances check it with
infra/modules/server/templates/verify-image.py; a podman built with sigstore checks it with `policy()`.

Keys are ECDSA P-256 (PEM, PKCS#8), made like the model signing keys (pipeline.supply_chain.keys).

Why the pipeline writes the signature itself rather than `skopeo copy --sign-by-sigstore-private-key`:
Debian bookworm's skopeo 1.9 and podman 4.3 (the versions .ci/containers and the Jenkins agent install)
are built without sigstore ("Debian-local change: sigstore disabled"): they can neither sign nor check a
`sigstoreSigned` policy (they reject every image).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
PAYLOAD_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_TYPE = "cosign container image signature"


class ImageSignatureError(Exception):
    """An image that does not verify; the message is one line naming the image and why."""


def signature_tag(digest: str) -> str:
    """The tag containers/image and cosign store an image's signatures under."""
    algorithm, _, hexdigest = digest.partition(":")
    return f"{algorithm}-{hexdigest}.sig"


OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"


@dataclass(frozen=True)
class RegistryReader:
    """What verification reads from a repository: a manifest by tag (None when there is none) and a blob."""

    manifest: Callable[[str], bytes | None]
    blob: Callable[[str], bytes]


@dataclass(frozen=True)
class SignatureUpload:
    """A signature as the registry stores it: two blobs (payload, config), then the manifest under its tag."""

    tag: str
    blobs: list[bytes]
    manifest: bytes


def signature_upload(image: str, private_key_pem: bytes) -> SignatureUpload:
    """The sigstore attachment signing `image` (`<registry>/<repository>@sha256:<hex>`) with the key; its
    payload names the digest and the repository, as `skopeo copy --sign-by-sigstore-private-key` writes it."""
    repository, _, digest = image.partition("@")
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ImageSignatureError("the image signing key is not an ECDSA private key")
    critical = {"identity": {"docker-reference": repository}, "image": {"docker-manifest-digest": digest}}
    payload = json.dumps({"critical": {**critical, "type": SIGNATURE_TYPE}, "optional": None}).encode()
    signature = base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
    payload_digest = digest_of(payload)
    config = json.dumps(
        {"architecture": "", "os": "", "config": {}, "rootfs": {"type": "layers", "diff_ids": [payload_digest]}}
    ).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "size": len(config), "digest": digest_of(config)},
        "layers": [
            {
                "mediaType": PAYLOAD_TYPE,
                "size": len(payload),
                "digest": payload_digest,
                "annotations": {SIGNATURE_ANNOTATION: signature},
            }
        ],
    }
    return SignatureUpload(signature_tag(digest), [payload, config], json.dumps(manifest).encode())


def digest_of(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def verify(image: str, reader: RegistryReader, public_key_pem: bytes) -> None:
    """`image` (`<registry>/<repository>@sha256:<hex>`) carries a sigstore signature, made with the private
    half of `public_key_pem`, for that very digest in that repository; else ImageSignatureError (one line)."""
    repository, _, digest = image.partition("@")
    try:
        public_key = serialization.load_pem_public_key(public_key_pem)
    except ValueError:
        raise ImageSignatureError("the image signing public key is not a PEM public key") from None
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise ImageSignatureError("the image signing public key is not an ECDSA key")
    tag = signature_tag(digest)
    raw = reader.manifest(tag)
    if raw is None:
        raise ImageSignatureError(f"image {image} is unsigned: {repository} has no signature {tag}")
    layers = _signature_layers(image, raw)
    for layer in layers:
        payload = reader.blob(layer["digest"])
        if digest_of(payload) != layer["digest"]:
            raise ImageSignatureError(f"image {image}: unreadable signature (a payload does not match its digest)")
        try:
            signature = base64.b64decode(layer["annotations"][SIGNATURE_ANNOTATION], validate=True)
            public_key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError, KeyError, TypeError):
            continue  # another key's signature (a repository may hold several): look on
        _check_payload(image, repository, digest, payload)
        return
    raise ImageSignatureError(
        f"image {image} is not signed with this environment's image signing key: signed with another key, or altered"
    )


def _signature_layers(image: str, raw: bytes) -> list[dict[str, Any]]:
    try:
        layers = json.loads(raw)["layers"]
        usable = [
            layer
            for layer in layers
            if layer["mediaType"] == PAYLOAD_TYPE and SIGNATURE_ANNOTATION in layer["annotations"]
        ]
    except (ValueError, KeyError, TypeError):
        raise ImageSignatureError(f"image {image}: unreadable signature (not a sigstore signature manifest)") from None
    if not usable:
        raise ImageSignatureError(f"image {image}: unreadable signature (no signed payload in it)")
    return usable


def _check_payload(image: str, repository: str, digest: str, payload: bytes) -> None:
    """A valid signature by our key: it must also be about this image (its digest, its repository)."""
    try:
        critical = json.loads(payload)["critical"]
        kind, signed_digest = critical["type"], critical["image"]["docker-manifest-digest"]
        identity = critical["identity"]["docker-reference"]
    except (ValueError, KeyError, TypeError):
        raise ImageSignatureError(
            f"image {image}: unreadable signature (a signed payload of an unknown form)"
        ) from None
    if kind != SIGNATURE_TYPE or signed_digest != digest:
        raise ImageSignatureError(f"image {image}: the signature is for another image ({signed_digest})")
    if _repository_of(identity) != repository:
        raise ImageSignatureError(f"image {image}: the signature is for another repository ({identity})")


def _repository_of(reference: str) -> str:
    """`registry/repository` of a reference by tag or digest (a registry's port is not a tag)."""
    name = reference.partition("@")[0]
    head, _, last = name.rpartition("/")
    return f"{head}/{last.partition(':')[0]}" if head else name.partition(":")[0]


def policy(scope: str, public_key_file: Path) -> dict[str, Any]:
    """A containers-policy.json(5) that lets the container engine run images of `scope` (`registry/repository`)
    only when signed with the key, and nothing else at all."""
    return {
        "default": [{"type": "reject"}],
        "transports": {
            "docker": {
                scope: [
                    {
                        "type": "sigstoreSigned",
                        "keyPath": str(public_key_file),
                        "signedIdentity": {"type": "matchRepository"},
                    }
                ]
            }
        },
    }


def registries_d(registry: str) -> str:
    """containers-registries.d(5): signatures of `registry`'s images are sigstore attachments in it (without
    this, podman 4 fails to push them, podman#16093, and finds none to check)."""
    return f"docker:\n  {registry}:\n    use-sigstore-attachments: true\n"
