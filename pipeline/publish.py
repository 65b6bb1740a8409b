"""Stage `publish`: upload the blessed candidate to the model bucket as an immutable version.

Refuses a candidate whose blessing is missing or stale (other model, thresholds,
sanity set or gate report). Uploads the artifact, the blessing and the gate report
under models/<version>/, verifies each by reading it back, and writes the manifest
last. Re-publishing a version is a no-op. Writes artifacts/publish.json:
{"version", "bucket", "prefix", "manifest_sha256", "published", "newly_published"}.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline import aws, blessing, model_registry
from pipeline.blessing import BlessingError
from pipeline.cli import StageError, log, run
from pipeline.gate import QUALITY_GATES
from pipeline.reports import write_json
from sentiment import artifact
from sentiment.artifact import ArtifactError, sha256_file
from sentiment.registry import RegistryError, version_prefix
from sentiment.settings import get_settings

STAGE = "publish"
ARTIFACT = "artifacts/publish.json"


def publishable_files(model_dir: Path, reports_dir: Path, thresholds: Path, quality_gates: Path) -> dict[str, Any]:
    """The verified metadata and the files to upload, or a StageError saying why not."""
    try:
        metadata = artifact.verify(model_dir)
    except ArtifactError as exc:
        raise StageError(str(exc), exit_code=2) from exc
    try:
        blessed = blessing.verify(model_dir, metadata["version"], thresholds, quality_gates)
    except BlessingError as exc:
        raise StageError(f"refusing to publish: {exc}") from exc
    report = reports_dir / "gate.json"
    if not report.is_file() or sha256_file(report) != blessed["report_sha256"]:
        raise StageError(f"refusing to publish: the gate report {report} is missing or not the one that blessed it")
    files = {name: model_dir / name for name in metadata["files"]}
    files |= {
        artifact.METADATA_FILE: model_dir / artifact.METADATA_FILE,
        blessing.BLESSING_FILE: model_dir / blessing.BLESSING_FILE,
        "gate.json": report,
    }
    return {"metadata": metadata, "files": files}


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m pipeline.publish", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=settings.candidate_dir, help="blessed candidate directory")
    parser.add_argument("--reports", type=Path, default=settings.reports_dir, help="directory holding gate.json")
    parser.add_argument("--thresholds", type=Path, default=QUALITY_GATES / "thresholds.toml")
    parser.add_argument("--quality-gates", type=Path, default=QUALITY_GATES)
    args = parser.parse_args(argv)

    candidate = publishable_files(args.model, args.reports, args.thresholds, args.quality_gates)
    version = candidate["metadata"]["version"]
    try:
        registry = aws.registry(settings)
        log(STAGE, f"publishing {version} to s3://{registry.bucket}/{version_prefix(version)}")
        manifest, new = model_registry.publish(
            registry, candidate["files"], candidate["metadata"], progress=lambda m: log(STAGE, m)
        )
    except (BotoCoreError, ClientError, RegistryError) as exc:
        raise StageError(f"publishing {version} to s3://{settings.model_bucket} failed: {exc}") from exc
    log(STAGE, f"published {version}" if new else f"{version} is already published; nothing to do")
    write_json(
        settings.artifacts_dir / "publish.json",
        {
            "version": version,
            "bucket": registry.bucket,
            "prefix": version_prefix(version),
            "manifest_sha256": hashlib.sha256(json.dumps(manifest).encode()).hexdigest(),
            "published": manifest["published"],
            "newly_published": new,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
