"""The S3 model registry, write side: publish a blessed version, promote a champion, read history.

`RegistryWriter` extends the service's read side (`sentiment.registry.ModelRegistry`, which
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

from sentiment.registry import (
    CHAMPION_KEY,
    HISTORY_PREFIX,
    MANIFEST_FILE,
    ModelRegistry,
    RegistryError,
    published_version,
    version_prefix,
)

EVIDENCE_FILES = {"gate.json", "blessing.json"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class RegistryWriter(ModelRegistry):
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
            raise RegistryError(f"s3://{self.bucket}/{key} does not read back as uploaded")
        return {"sha256": digest.hexdigest(), "size": len(body)}

    def publish(
        self, files: dict[str, Path], metadata: dict[str, Any], progress: Callable[[str], None] = print
    ) -> tuple[dict[str, Any], bool]:
        """Upload `files` under models/<version>/ and write the manifest last. Returns (manifest, newly_published)."""
        version = metadata["version"]
        local = {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in files.items()}
        existing = self.manifest(version)
        if existing is not None:
            # The model files must be identical; the gate evidence (gate.json, blessing.json) of a
            # re-gated run differs in timestamps only, and the first publication's evidence stays.
            model_files = set(local) - EVIDENCE_FILES
            if any(existing["files"].get(name, {}).get("sha256") != local[name] for name in model_files):
                raise RegistryError(f"version {version} is already published with different model files")
            return existing, False
        entries = {}
        for number, (name, path) in enumerate(sorted(files.items()), 1):
            progress(f"uploading {name} ({number}/{len(files)})")
            entries[name] = self._put_verified(version_prefix(version) + name, path.read_bytes())
        manifest = {
            "schema": 1,
            "version": version,
            "files": entries,
            "published": _now(),
            "created": metadata.get("created"),
            "git_sha": metadata.get("git_sha"),
            "metrics": metadata.get("metrics", {}),
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
            return self.publish(files, metadata, progress)  # published concurrently: compare and return
        return manifest, True

    def promote(self, version: str, release: dict[str, Any] | None = None) -> dict[str, Any]:
        """Make `version` the champion; the previous champion is kept in the history."""
        if self.manifest(published_version(version, "the version to promote")) is None:
            raise RegistryError(f"cannot promote {version}: it is not published in bucket {self.bucket}")
        previous = self.champion()
        champion = {
            "version": version,
            "previous": previous["version"] if previous else None,
            "promoted": _now(),
            **(release or {}),
        }
        body = json.dumps(champion).encode()
        stamp = champion["promoted"].replace(":", "").replace("-", "").replace(".", "")
        self.s3.put_object(Bucket=self.bucket, Key=f"{HISTORY_PREFIX}{stamp}-{version}.json", Body=body)
        self.s3.put_object(Bucket=self.bucket, Key=CHAMPION_KEY, Body=body)
        return champion

    def history(self) -> list[dict[str, Any]]:
        """Every promotion, oldest first."""
        events = []
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=HISTORY_PREFIX):
            for obj in page.get("Contents", []):
                events.append(self.get_json(obj["Key"]))
        entries = sorted((e for e in events if e), key=lambda e: e["promoted"])
        for entry in entries:  # a rollback deploys what these name
            published_version(
                entry.get("version"), f"s3://{self.bucket}/{HISTORY_PREFIX} entry {entry.get('promoted')}"
            )
        return entries
