"""The S3 model registry, read side: what the service needs to fetch a version and verify it.

Bucket layout:
  models/<version>/model.tflite, vocabulary.json, model.keras, metadata.json,
                   blessing.json, gate.json       the files of one version
  models/<version>/model.sig                      the version's signature (sentiment.model_signature):
                                                  every file the manifest lists; replaced only by a re-signing
  models/<version>/sboms/<digest>.cdx.json         the CycloneDX SBOM of each image built to serve the
                                                  version (written by build; not part of the manifest)
  models/<version>/manifest.json                  written last: a version exists only once
                                                  its manifest does. schema 1:
                                                  {"schema", "version", "files": {name: {"sha256", "size"}},
                                                   "published", "git_sha", "created", "metrics"}
  registry/champion.json                          the version serving in this environment
  registry/history/<time>-<version>.json          one object per promotion, never rewritten

Only JSON and the LiteRT flatbuffer are ever read: no pickle, no code from the bucket.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Self

from sentiment import artifact
from sentiment.artifact import ArtifactError, sha256_file
from sentiment.model_signature import SIGNATURE_FILE, SignatureError, check_files, signed_files
from sentiment.versions import CHAMPION, is_model_version

MANIFEST_FILE = "manifest.json"
CHAMPION_KEY = "registry/champion.json"
HISTORY_PREFIX = "registry/history/"
SERVED_FILES = (*artifact.SERVING_FILES, artifact.METADATA_FILE)


class ModelRegistryError(ArtifactError):
    """A version is missing from the registry, or its files do not match the manifest."""


def published_version(value: Any, where: str) -> str:
    """A concrete version read from `where`; anything else (a path, a newline, `champion`) is refused:
    versions become S3 keys, cache directory names and Terraform variables."""
    if not is_model_version(value) or value == CHAMPION:
        shown = repr(value)[:60]
        raise ModelRegistryError(f"{where} names {shown}, which is not a model version (12 lowercase hex characters)")
    return str(value)


def version_prefix(version: str) -> str:
    return f"models/{version}/"


def s3_client(region: str) -> Any:
    """An S3 client that gives up quickly: a service must fail fast, not hang, when the bucket is away."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=3, read_timeout=15, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.client("s3", region_name=region, config=config)


def verify_against_manifest(directory: Path, manifest: dict[str, Any], version: str) -> dict[str, Any]:
    """The metadata of the copy in `directory`, once every served file matches the manifest and both the
    manifest and the metadata are of `version`, the one asked for: files consistent among themselves but
    of another version (a replacement uploaded under this version's prefix) are refused."""
    if manifest.get("version") != version:
        found = repr(str(manifest.get("version")))[:40]
        where = version_prefix(version)
        raise ModelRegistryError(f"the registry manifest under {where} is of version {found}, not {version}")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(isinstance(files.get(name), dict) for name in SERVED_FILES):
        raise ModelRegistryError(f"the registry manifest of {manifest.get('version')!r} does not list the served files")
    for name in SERVED_FILES:
        path = directory / name
        expected = files[name].get("sha256")
        if not path.is_file() or sha256_file(path) != expected:
            raise ModelRegistryError(f"{path} does not match the registry manifest of {manifest.get('version')}")
    metadata = artifact.verify(directory)
    if metadata.get("version") != version:
        found = repr(str(metadata.get("version")))[:40]
        where = version_prefix(version)
        raise ModelRegistryError(f"the model under {where} is version {found}, not the {version} asked for")
    return metadata


class ModelRegistry:
    """The registry in one bucket, read side. `open` makes its own S3 client; tests may pass one.

    With a `trusted_key` (PEM), every version is fetched or read only once its signature verifies with it.
    """

    def __init__(self, s3: Any, bucket: str, trusted_key: bytes | None = None) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.trusted_key = trusted_key

    @classmethod
    def open(cls, bucket: str, region: str, trusted_key: bytes | None = None) -> Self:
        return cls(s3_client(region), bucket, trusted_key)

    def get_json(self, key: str) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise ModelRegistryError(f"s3://{self.bucket}/{key} is not valid JSON: {exc}") from None
        if not isinstance(document, dict):
            raise ModelRegistryError(f"s3://{self.bucket}/{key} is not a JSON object")
        return document

    def manifest(self, version: str) -> dict[str, Any] | None:
        return self.get_json(version_prefix(version) + MANIFEST_FILE)

    def champion(self) -> dict[str, Any] | None:
        return self.get_json(CHAMPION_KEY)

    def signature(self, version: str) -> bytes | None:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=version_prefix(version) + SIGNATURE_FILE)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None

    def verified_manifest(self, version: str) -> tuple[dict[str, Any], bytes | None]:
        """(manifest, signature) of a published `version`, the signature checked when a key is trusted:
        every file the manifest lists must be one the trusted key signed, with the digest it signed."""
        version = published_version(version, "the requested version")
        manifest = self.manifest(version)
        if manifest is None:
            raise ModelRegistryError(f"model version {version} is not published in bucket {self.bucket}")
        if self.trusted_key is None:
            return manifest, None
        bundle = self.signature(version)
        where = f"s3://{self.bucket}/{version_prefix(version)}{SIGNATURE_FILE}"
        if bundle is None:
            raise SignatureError(f"model {version} is unsigned: {where} is missing")
        verify_signature(bundle, self.trusted_key, manifest, version, where)
        return manifest, bundle

    def versions(self) -> list[dict[str, Any]]:
        """Manifests of every published version, oldest first. Versions without a manifest are invisible."""
        manifests = []
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix="models/", Delimiter="/"):
            for prefix in page.get("CommonPrefixes", []):
                manifest = self.manifest(prefix["Prefix"].split("/")[1])
                if manifest is not None:
                    manifests.append(manifest)
        return sorted(manifests, key=lambda m: m["published"])

    def resolve(self, version: str) -> str:
        if version != CHAMPION:
            return published_version(version, "the requested version")
        champion = self.champion()
        if champion is None:
            raise ModelRegistryError(f"MODEL_VERSION=champion, but bucket {self.bucket} has no champion yet")
        return published_version(champion.get("version"), f"s3://{self.bucket}/{CHAMPION_KEY}")

    def published_file(self, version: str, name: str) -> bytes | None:
        """One file of a published version, checked against its manifest; None if the manifest lists no such file."""
        manifest, _ = self.verified_manifest(version)
        expected = manifest.get("files", {}).get(name)
        if expected is None:
            return None
        key = version_prefix(version) + name
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        if hashlib.sha256(body).hexdigest() != expected.get("sha256"):
            raise ModelRegistryError(f"s3://{self.bucket}/{key} does not match its manifest")
        return body

    def fetch_champion(self, cache_dir: Path) -> tuple[str, Path] | None:
        """(version, verified local copy) of the champion, or None when there is none yet."""
        if self.champion() is None:
            return None
        version = self.resolve(CHAMPION)
        return version, self.fetch(version, cache_dir)

    def fetch(self, version: str, cache_dir: Path) -> Path:
        """A verified local copy of `version`: from the cache (re-verified) or downloaded now."""
        version = published_version(version, "the requested version")
        manifest, bundle = self.verified_manifest(version)
        target = cache_dir / version
        if target.exists():
            if _stored_manifest(target) == manifest and _stored_signature(target) == bundle:
                verify_against_manifest(target, manifest, version)  # the same publication: a changed file is refused
                return target
            # A copy of an earlier publication of this version (the bucket was re-created and the version
            # published again since): stale, not tampered. The registry's current copy replaces it.
            shutil.rmtree(target, ignore_errors=True)
        cache_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=cache_dir))
        try:
            for name in SERVED_FILES:
                self.s3.download_file(self.bucket, version_prefix(version) + name, str(work / name))
            (work / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
            if bundle is not None:
                (work / SIGNATURE_FILE).write_bytes(bundle)
            verify_against_manifest(work, manifest, version)
            try:
                work.rename(target)
            except OSError:
                # Another worker fetched the same version first: its copy is as good, once verified.
                if not target.is_dir():
                    raise
                verify_against_manifest(target, manifest, version)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return target


def verify_signature(bundle: bytes, trusted_key: bytes, manifest: dict[str, Any], version: str, where: str) -> None:
    """SignatureError unless `bundle` verifies with `trusted_key` and signs exactly the manifest's files."""
    listed = {name: entry.get("sha256") for name, entry in manifest.get("files", {}).items()}
    check_files(signed_files(bundle, trusted_key, where), listed, version)


def _stored_signature(directory: Path) -> bytes | None:
    path = directory / SIGNATURE_FILE
    return path.read_bytes() if path.is_file() else None


def _stored_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest a cached copy was downloaded with, or None if it cannot be read."""
    try:
        return json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def cached_copy(cache_dir: Path, version: str, trusted_key: bytes | None = None) -> Path:
    """The cached copy of `version`, verified against the manifest (and with a `trusted_key`, the signature)
    stored beside it."""
    target = cache_dir / published_version(version, "the requested version")
    try:
        manifest = json.loads((target / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelRegistryError(f"no cached copy of model {version} in {cache_dir}") from exc
    if trusted_key is not None:
        bundle = _stored_signature(target)
        if bundle is None:
            raise SignatureError(f"the cached copy of model {version} in {cache_dir} is unsigned")
        verify_signature(bundle, trusted_key, manifest, version, str(target / SIGNATURE_FILE))
    verify_against_manifest(target, manifest, version)
    return target
