#!/usr/bin/python3
"""verify-image IMAGE PUBLIC_KEY [--ecr-region REGION] [--insecure]: exit 0 only when IMAGE
(registry/repository@sha256:<hex>) carries a sigstore signature, in its registry, made with the private
half of PUBLIC_KEY for that very digest and repository; else one line on stderr and exit 1.

The instance's check before it runs a release (the unit's ExecStartPre, before `docker pull`): the same
rule as the pipeline's (pipeline/supply_chain/image_signatures.py), with what Amazon Linux has: python3's
standard library and the openssl command. --ecr-region: ECR's token (aws ecr get-authorization-token) as
Basic auth; --insecure: plain HTTP, for a registry on loopback (tests).
"""

import base64
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

ANNOTATION = "dev.cosignproject.cosign/signature"
PAYLOAD_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"


class Refused(Exception):
    pass


def fetch(url, headers, accept=None):
    request = urllib.request.Request(url)  # noqa: S310 (https, or http on loopback in tests)
    for name, value in headers.items():
        request.add_unredirected_header(name, value)  # ECR sends blobs from S3, which refuses a second auth
    if accept:
        request.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 (as above)
            return answer.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise Refused(f"the registry answered HTTP {exc.code} for {url}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise Refused(f"the registry is unreachable: {exc}") from None


def verify(image, public_key, region, insecure):
    repository, _, digest = image.partition("@")
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise Refused("it is not pinned by digest")
    if b"BEGIN PUBLIC KEY" not in Path(public_key).read_bytes():
        raise Refused(f"{public_key} holds no public key")
    registry, _, name = repository.partition("/")
    headers = {}
    if region:
        token = subprocess.run(
            ["aws", "ecr", "get-authorization-token", "--region", region, "--output", "text",
             "--query", "authorizationData[0].authorizationToken"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if token.returncode != 0:
            raise Refused("no ECR authorization token")
        headers["Authorization"] = "Basic " + token.stdout.strip()
    base = f"{'http' if insecure else 'https'}://{registry}/v2/{name}"
    tag = digest.replace(":", "-") + ".sig"
    raw = fetch(f"{base}/manifests/{tag}", headers, "application/vnd.oci.image.manifest.v1+json")
    if raw is None:
        raise Refused(f"it is unsigned (no {tag})")
    try:
        layers = [
            layer for layer in json.loads(raw)["layers"]
            if layer["mediaType"] == PAYLOAD_TYPE and ANNOTATION in layer["annotations"]
        ]  # fmt: skip
    except (ValueError, KeyError, TypeError):
        raise Refused("its signature is unreadable") from None
    with tempfile.TemporaryDirectory() as work:
        for number, layer in enumerate(layers):
            payload = fetch(f"{base}/blobs/{layer['digest']}", headers)
            if payload is None or "sha256:" + hashlib.sha256(payload).hexdigest() != layer["digest"]:
                raise Refused("its signature is unreadable (a payload does not match its digest)")
            payload_file, signature_file = Path(work, f"payload{number}"), Path(work, f"signature{number}")
            payload_file.write_bytes(payload)
            signature_file.write_bytes(base64.b64decode(layer["annotations"][ANNOTATION]))
            checked = subprocess.run(
                ["openssl", "dgst", "-sha256", "-verify", public_key, "-signature", str(signature_file),
                 str(payload_file)],
                capture_output=True, check=False,
            )  # fmt: skip
            if checked.returncode != 0:
                continue  # another key's signature: look on
            critical = json.loads(payload)["critical"]
            identity = critical["identity"]["docker-reference"].partition("@")[0]
            head, _, last = identity.rpartition("/")
            if (
                critical["image"]["docker-manifest-digest"] != digest
                or f"{head}/{last.partition(':')[0]}" != repository
            ):
                raise Refused("its signature is for another image")
            return
    raise Refused("it is not signed with this environment's image signing key")


def main(argv):
    if len(argv) < 3:
        print("usage: verify-image IMAGE PUBLIC_KEY [--ecr-region REGION] [--insecure]", file=sys.stderr)
        return 2
    image, public_key, options = argv[1], argv[2], argv[3:]
    region = options[options.index("--ecr-region") + 1] if "--ecr-region" in options else None
    try:
        verify(image, public_key, region, "--insecure" in options)
    except (Refused, OSError, ValueError, KeyError, TypeError) as exc:
        print(f"verify-image: refusing to run {image[:200]}: {exc}", file=sys.stderr)
        return 1
    print(f"verify-image: {image} is signed with this environment's image signing key")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
