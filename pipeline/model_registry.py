"""The S3 model registry, write side: publish a blessed version, promote a champion, read history.

`ModelRegistryWriter` extends the service's read side (`sentiment.model_registry.ModelRegistry`, which
documents the bucket layout and owns the S3 client). A version becomes visible only when
its manifest is written, after every file is uploaded and read back verified.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sentiment.artifact import SERVING_FILES
from sentiment.model_registry import (
    CHAMPION_KEY,
    HISTORY_PREFIX,
    MANIFEST_FILE,
    ModelRegistry,
    ModelRegistryError,
    published_version,
    version_prefix,
)
from sentiment.model_signature import SIGNATURE_FILE

SBOM_DIR = "sboms/"  # models/<version>/sboms/<image digest>.cdx.json: the images that serve the version


class PromotionConflict(ModelRegistryError):
    """Another promotion won the race for the champion pointer."""


class TamperedHistory(ModelRegistryError):
    """The promotion history is not the chain the pipeline wrote: an entry was changed, removed or added."""


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class ModelRegistryWriter(ModelRegistry):
    """The registry as the pipeline uses it: everything the service reads, plus publish and promote."""

    def _put_verified(self, key: str, body: bytes) -> dict[str, Any]:
        digest = hashlib.sha256(body)
        self.s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=body,
            ChecksumSHA256=base64.b64encode(digest.digest()).decode(),  # S3 rejects a corrupted upload
        )
        stored = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        if hashlib.sha256(stored).hexdigest() != digest.hexdigest():
            raise ModelRegistryError(f"s3://{self.bucket}/{key} does not read back as uploaded")
        return {"sha256": digest.hexdigest(), "size": len(body)}

    def put_signature(self, version: str, signature: bytes) -> None:
        """Store (or, re-signing, replace) the signature of `version` (sentiment.model_signature)."""
        self._put_verified(version_prefix(version) + SIGNATURE_FILE, signature)

    def sbom_key(self, version: str, image_digest: str) -> str:
        return f"{version_prefix(version)}{SBOM_DIR}{image_digest.replace(':', '-')}.cdx.json"

    def sbom(self, version: str, image_digest: str) -> bytes | None:
        """The SBOM of the image (by digest) that serves `version`, if build stored one."""
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=self.sbom_key(version, image_digest))["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None

    def put_sbom(self, version: str, image_digest: str, sbom: bytes) -> str:
        """Store the SBOM of an image that serves `version` beside the version; returns its key."""
        key = self.sbom_key(version, image_digest)
        self._put_verified(key, sbom)
        return key

    def publish(
        self,
        files: dict[str, Path],
        metadata: dict[str, Any],
        progress: Callable[[str], None] = print,
        signature: bytes | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Upload `files` under models/<version>/, then their `signature`, and write the manifest last.
        Returns (manifest, newly_published)."""
        version = metadata["version"]
        local = {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in files.items()}
        existing = self.manifest(version)
        if existing is not None:
            # The serving files (which the version hashes) must be identical. What a rerun of the same
            # training changes by itself (metadata's timestamps, the Keras zip's dates, a re-gated
            # report and blessing) does not matter: the first publication's copies stay.
            if any(existing["files"].get(name, {}).get("sha256") != local[name] for name in SERVING_FILES):
                raise ModelRegistryError(f"version {version} is already published with different model files")
            return existing, False
        entries = {}
        for number, (name, path) in enumerate(sorted(files.items()), 1):
            progress(f"uploading {name} ({number}/{len(files)})")
            entries[name] = self._put_verified(version_prefix(version) + name, path.read_bytes())
        if signature is not None:
            self.put_signature(version, signature)
        manifest = {
            "schema": 1,
            "version": version,
            "files": entries,
            "published": _now(),
            "created": metadata.get("created"),
            "git_sha": metadata.get("git_sha"),
            "metrics": metadata.get("metrics", {}),
            "data": metadata.get("data", {}),  # lineage: the dataset, its fingerprint, split and sizes
        }
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=version_prefix(version) + MANIFEST_FILE,
                Body=json.dumps(manifest).encode(),
                IfNoneMatch="*",  # never overwrite a published version
            )
        except self.s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "PreconditionFailed":
                raise
            return self.publish(files, metadata, progress, signature)  # published concurrently: compare and return
        return manifest, True

    def promote(self, version: str, record: dict[str, Any] | None = None) -> dict[str, Any]:
        """Make `version` the champion, atomically, and add the promotion to the history.

        The pointer is written with a conditional request on what was read (S3 `If-Match` on its
        ETag; `If-None-Match: *` for the first champion): of two concurrent promotions exactly one
        wins, and the other changes nothing and raises PromotionConflict. The history entry is
        written after the pointer, so it only ever records promotions that happened.
        """
        manifest, _ = self.verified_manifest(published_version(version, "the version to promote"))
        previous, etag = self._champion_and_etag()
        entries = self._history_entries()
        champion = {
            "version": version,
            "previous": previous["version"] if previous else None,
            "promoted": _now(),
            "gate_report_sha256": manifest.get("files", {}).get("gate.json", {}).get("sha256"),
            **(record or {}),
            # Each entry names the one before it, so a changed or deleted entry breaks the chain.
            "previous_entry_sha256": _sha256(entries[-1][1]) if entries else None,
        }
        body = json.dumps(champion).encode()
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            self.s3.put_object(Bucket=self.bucket, Key=CHAMPION_KEY, Body=body, **condition)
        except self.s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise
            raise PromotionConflict(
                f"another promotion changed the champion of {self.bucket} while {version} was being promoted; "
                "nothing was changed (see `python -m pipeline.models history`)"
            ) from None
        stamp = champion["promoted"].replace(":", "").replace("-", "").replace(".", "")
        self.s3.put_object(Bucket=self.bucket, Key=f"{HISTORY_PREFIX}{stamp}-{version}.json", Body=body)
        return champion

    def _champion_and_etag(self) -> tuple[dict[str, Any] | None, str | None]:
        try:
            found = self.s3.get_object(Bucket=self.bucket, Key=CHAMPION_KEY)
        except self.s3.exceptions.NoSuchKey:
            return None, None
        try:
            return json.loads(found["Body"].read()), found["ETag"]
        except ValueError as exc:
            raise ModelRegistryError(f"s3://{self.bucket}/{CHAMPION_KEY} is not valid JSON: {exc}") from None

    def _history_entries(self) -> list[tuple[str, bytes]]:
        """(key, body) of every history entry, oldest first (keys start with the promotion time)."""
        found = []
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=HISTORY_PREFIX):
            for obj in page.get("Contents", []):
                found.append((obj["Key"], self.s3.get_object(Bucket=self.bucket, Key=obj["Key"])["Body"].read()))
        return sorted(found)

    def history(self) -> list[dict[str, Any]]:
        """Every promotion, oldest first, verified as the chain the pipeline wrote (TamperedHistory if not).

        Entries written before the chain existed carry no link; the chain starts at the first that does.
        The newest entry must be the champion pointer itself (both are written from the same bytes).
        """
        entries, linked, before = [], False, None
        for key, body in self._history_entries():
            where = f"s3://{self.bucket}/{key}"
            try:
                entry = json.loads(body)
            except ValueError:
                raise TamperedHistory(f"history entry {where} is not valid JSON") from None
            if not isinstance(entry, dict):
                raise TamperedHistory(f"history entry {where} is not an object")
            published_version(entry.get("version"), f"history entry {where}")  # a rollback deploys it
            linked = linked or "previous_entry_sha256" in entry
            if linked and entry.get("previous_entry_sha256") != before:
                raise TamperedHistory(
                    f"history entry {where} does not follow the entry before it: an entry was changed, removed "
                    "or inserted"
                )
            entries.append(entry)
            before = _sha256(body)
        champion = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=CHAMPION_KEY).get("KeyCount", 0)
        if linked and champion:
            pointer = self.s3.get_object(Bucket=self.bucket, Key=CHAMPION_KEY)["Body"].read()
            if _sha256(pointer) == before:
                return entries
            current = json.loads(pointer)
            if not isinstance(current, dict) or current.get("previous_entry_sha256") != before:
                raise TamperedHistory(
                    f"s3://{self.bucket}/{CHAMPION_KEY} is neither the newest history entry nor the promotion "
                    "after it: one of them was changed"
                )
            entries.append(current)  # promoted, and stopped before its history entry was written
        return entries
