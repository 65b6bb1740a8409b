"""Stage `publish`: upload the blessed candidate to the model bucket as an immutable version.

Reads the candidate, its blessing and the gate report that blessed it; refuses a candidate
whose blessing is missing or stale (other model, thresholds, sanity set or gate report).
Signs every file with the environment's model signing key (pipeline.supply_chain), uploads the
artifact, the blessing, the gate report and the signature under models/<version>/, verifies each by
reading it back, writes the manifest last, and checks the published signature with the environment's
public key. Re-publishing a version is a no-op.
Writes `records.PublishedVersion`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline import environments
from pipeline.errors import StageError, log, run
from pipeline.ml import blessing
from pipeline.ml.blessing import BlessingError
from pipeline.records import Blessing, Candidate, GateReport, ProvisionedStack, PublishedVersion, Stage
from pipeline.settings import get_settings
from pipeline.supply_chain.keys import signing_key
from pipeline.supply_chain.model_signer import sign_files
from sentiment import artifact
from sentiment.artifact import sha256_file
from sentiment.model_registry import ModelRegistryError, version_prefix

STAGE = "publish"
# ProvisionedStack: the model bucket it publishes to is the provisioned stack's.
DECLARATION = Stage(
    STAGE, reads=(Candidate, GateReport, Blessing, ProvisionedStack), writes=(PublishedVersion,),
    outputs="the version in the model registry",
)  # fmt: skip


@dataclass(frozen=True)
class Upload:
    """A blessed candidate and the files a published version holds: the artifact's files, its
    metadata, the blessing and the gate report that blessed it."""

    candidate: Candidate
    files: dict[str, Path]

    @property
    def metadata(self) -> dict[str, Any]:
        return self.candidate.metadata


def publishable_files(model_dir: Path, reports_dir: Path, thresholds: Path, quality_gates: Path) -> Upload:
    """What to upload for a blessed candidate, or a StageError saying why it may not be published."""
    candidate = Candidate.read_dir(model_dir)
    try:
        blessed = blessing.verify(model_dir, candidate.version, thresholds, quality_gates)
    except BlessingError as exc:
        raise StageError(f"refusing to publish: {exc}") from exc
    report = reports_dir / Path(GateReport.FILE).name
    if not report.is_file() or sha256_file(report) != blessed.report_sha256:
        raise StageError(f"refusing to publish: the gate report {report} is missing or not the one that blessed it")
    files = {name: model_dir / name for name in candidate.metadata["files"]}
    files |= {
        artifact.METADATA_FILE: model_dir / artifact.METADATA_FILE,
        Blessing.NAME: model_dir / Blessing.NAME,
        report.name: report,
    }
    return Upload(candidate, files)


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m pipeline.publish", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=settings.candidate_dir, help="blessed candidate directory")
    parser.add_argument("--reports", type=Path, default=settings.reports_dir, help="directory holding gate.json")
    parser.add_argument("--thresholds", type=Path, default=settings.thresholds_file)
    parser.add_argument("--quality-gates", type=Path, default=settings.quality_gates_dir)
    args = parser.parse_args(argv)

    upload = publishable_files(args.model, args.reports, args.thresholds, args.quality_gates)
    version = upload.candidate.version
    try:
        signature = sign_files(upload.files, signing_key(settings, progress=lambda m: log(STAGE, m)))
        model_registry = environments.current(settings).model_registry()
        if model_registry.trusted_key is None:
            raise StageError("no public key to check the signature with (MODEL_SIGNATURE_REQUIRED=false?)")
        log(STAGE, f"publishing {version}, signed, to s3://{model_registry.bucket}/{version_prefix(version)}")
        manifest, new = model_registry.publish(upload.files, upload.metadata, lambda m: log(STAGE, m), signature)
        model_registry.verified_manifest(version)  # the bucket's copy, with the key every reader checks it with
    except (BotoCoreError, ClientError, ModelRegistryError) as exc:
        raise StageError(f"publishing {version} to s3://{settings.model_bucket} failed: {exc}") from exc
    log(STAGE, f"published {version}" if new else f"{version} is already published; nothing to do")
    PublishedVersion(
        version=version,
        bucket=model_registry.bucket,
        prefix=version_prefix(version),
        manifest_sha256=hashlib.sha256(json.dumps(manifest).encode()).hexdigest(),
        published=manifest["published"],
        newly_published=new,
    ).write(settings.artifacts_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
