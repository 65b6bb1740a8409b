"""The records that flow between stages: one frozen dataclass per file under ARTIFACTS_DIR, and the
`Stage` declaration that says which ones a stage (or an operations command) reads and writes.

Each record names its file (relative to ARTIFACTS_DIR), the stage that writes it (PRODUCER) and a
schema version. `read` fails with one line and exit 2 when the file is missing, unreadable
or of another schema ("run `python -m pipeline.<stage>` first"); `write` is atomic (a temp
file renamed over the old one), so a reader never sees half a record.

Who writes and reads which record is declared in each stage and command module (`DECLARATION = Stage(...)`) and
tabled in docs/reference/records.md (generated); tests/unit/pipeline/test_stage_declarations.py
holds PRODUCER, the stage order, the Jenkinsfile and the import contracts to those declarations.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, NotRequired, Self, TypedDict

from pipeline.errors import StageError
from sentiment import artifact
from sentiment.artifact import ArtifactError


class RecordError(StageError):
    """A record another stage should have written is missing, unreadable or stale."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=2)


def write_json_atomic(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class CheckDoc(TypedDict):
    """One check as reports store it (pipeline.reports.CheckResult.to_dict)."""

    name: str
    passed: bool
    value: float | str | None
    expected: str
    detail: str


class ReleaseRef(TypedDict):
    """A release a deployment or delivery names: where it answers and the model it serves."""

    url: str
    model_version: NotRequired[str | None]
    parked: NotRequired[bool]  # local: kept running without traffic, to restore on a rollback


class StepDoc(TypedDict):
    """One traffic step of a delivery (or the closing `abort` step) with what was measured and judged."""

    name: str
    weight: int
    hold_s: float
    seconds: float
    measurements: dict[str, Any]  # per role ("champion", "candidate", "shadow"): pipeline.release.progressive
    checks: list[CheckDoc]


@dataclass(frozen=True)
class Record:
    FILE: ClassVar[str]
    PRODUCER: ClassVar[str]
    SCHEMA: ClassVar[int] = 1

    @classmethod
    def path(cls, artifacts_dir: Path) -> Path:
        return artifacts_dir / cls.FILE

    @classmethod
    def read(cls, artifacts_dir: Path) -> Self:
        return cls.read_file(cls.path(artifacts_dir))

    @classmethod
    def read_file(cls, path: Path) -> Self:
        rerun = f"run `python -m pipeline.{cls.PRODUCER}` first"
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RecordError(f"{path} is missing: {rerun}") from None
        except (OSError, ValueError) as exc:
            raise RecordError(f"{path} is unreadable ({exc}): {rerun}") from None
        if not isinstance(doc, dict) or doc.get("schema") != cls.SCHEMA:
            found = doc.get("schema") if isinstance(doc, dict) else None
            raise RecordError(f"{path} has schema {found!r}, not {cls.SCHEMA}: {rerun}")
        try:
            return cls.from_dict(doc)
        except (TypeError, KeyError, ValueError) as exc:
            raise RecordError(f"{path} does not match its schema ({exc}): {rerun}") from None

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Self:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        return {"schema": self.SCHEMA, **asdict(self)}

    def write(self, artifacts_dir: Path) -> Path:
        return self.write_file(self.path(artifacts_dir))

    def write_file(self, path: Path) -> Path:
        return write_json_atomic(path, self.to_dict())


@dataclass(frozen=True)
class Candidate:
    """A trained, checksum-verified model artifact directory (its metadata schema is sentiment.artifact's)."""

    FILE: ClassVar[str] = f"candidate/{artifact.METADATA_FILE}"
    directory: Path
    metadata: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.metadata["version"])

    @classmethod
    def path(cls, artifacts_dir: Path) -> Path:
        return artifacts_dir / cls.FILE

    @classmethod
    def read_dir(cls, directory: Path) -> Candidate:
        try:
            return cls(directory, artifact.verify(directory))
        except ArtifactError as exc:
            raise RecordError(str(exc)) from None


@dataclass(frozen=True)
class DataReport(Record):
    """The data gates' verdict on the dataset a model is about to be trained on (`pipeline.ml.data_checks`)."""

    FILE: ClassVar[str] = "reports/data.json"
    PRODUCER: ClassVar[str] = "train"
    passed: bool
    dataset: dict[str, Any]  # its lineage: source, format, sha256, version, fingerprint, split, sizes, shares
    champion_version: str | None  # whose data the label balance was compared with; None: not compared
    measurements: dict[str, float]
    checks: list[CheckDoc]
    failed: list[str]
    stage: str = "train"


@dataclass(frozen=True)
class GateReport(Record):
    FILE: ClassVar[str] = "reports/gate.json"
    PRODUCER: ClassVar[str] = "gate"
    passed: bool
    model_version: str
    champion_version: str | None  # None: no champion yet (or --no-champion)
    champion_comparison: dict[str, dict[str, float]]  # metric -> candidate, champion, delta, allowed_drop
    thresholds_file: str
    measurements: dict[str, float]
    checks: list[CheckDoc]
    failed: list[str]
    stage: str = "gate"
    # The held-out examples candidate and champion were compared on: {"examples", "split", "note"}
    # (examples 0: the champion's training data cannot be established); {} without a champion.
    champion_compared_on: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Blessing(Record):
    """Proof, beside the artifact, that this exact model passed the gate with these inputs."""

    FILE: ClassVar[str] = "candidate/blessing.json"
    PRODUCER: ClassVar[str] = "gate"
    NAME: ClassVar[str] = "blessing.json"
    model_version: str
    thresholds_sha256: str
    quality_gates_sha256: str
    report_sha256: str
    checks: list[str]
    baseline_version: str | None
    created: str
    gate_code_sha256: str = ""  # blessing.gate_code_hash(); empty in blessings older than it: judged again


@dataclass(frozen=True)
class ProvisionedStack(Record):
    FILE: ClassVar[str] = "provision.json"
    PRODUCER: ClassVar[str] = "provision"
    model_bucket_name: str
    model_bucket_arn: str
    model_bucket_kms_key_arn: str
    repository_url: str
    repository_arn: str
    changed: bool

    def service_inputs(self) -> dict[str, str]:
        """What infra/service takes of the shared stack (a Release's `shared`)."""
        return {
            "model_bucket_arn": self.model_bucket_arn,
            "model_bucket_kms_key_arn": self.model_bucket_kms_key_arn,
            "repository_arn": self.repository_arn,
        }


@dataclass(frozen=True)
class PublishedVersion(Record):
    FILE: ClassVar[str] = "publish.json"
    PRODUCER: ClassVar[str] = "publish"
    version: str
    bucket: str
    prefix: str
    manifest_sha256: str
    published: str
    newly_published: bool


@dataclass(frozen=True)
class ImageRecord(Record):
    FILE: ClassVar[str] = "image.json"
    PRODUCER: ClassVar[str] = "build"
    reference: str
    digest: str
    pinned: str  # reference@digest
    registry: str
    repository: str
    tag: str
    git_sha: str
    model_version: str
    engine: str
    base_image: str
    size_bytes: int | None
    reused: bool
    built_at: str
    sbom: str | None = None  # s3:// URI of the image's CycloneDX SBOM, beside the model version it serves
    sbom_sha256: str | None = None


@dataclass(frozen=True)
class Release(Record):
    """What one deploy ships: an image, a model version, and the shared stack it runs against."""

    FILE: ClassVar[str] = "terraform/planned-release.json"  # saved beside the plan
    PRODUCER: ClassVar[str] = "deploy --plan-only"
    image: str
    image_built: bool
    model_version: str
    git_sha: str
    environment: str
    model_bucket: str
    shared: dict[str, str]
    deployed: str | None = None


@dataclass(frozen=True)
class Deployment(Record):
    FILE: ClassVar[str] = "deploy.json"
    PRODUCER: ClassVar[str] = "deploy"
    release: Release
    endpoint_url: str
    runner: str  # "ec2", "container" or "process"
    infrastructure_url: str
    instance_id: str | None = None
    local_pid: int | None = None
    release_url: str | None = None  # local: the release's own port behind the stable endpoint
    releases: dict[str, ReleaseRef] = field(default_factory=dict)  # "candidate" (this one), "champion"
    weights: dict[str, int] = field(default_factory=dict)  # release url -> percent of live traffic, at the end

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Deployment:
        release = doc["release"]
        return super().from_dict({**doc, "release": Release.from_dict(release)})


@dataclass(frozen=True)
class SmokeReport(Record):
    FILE: ClassVar[str] = "reports/smoke.json"
    PRODUCER: ClassVar[str] = "smoke"
    url: str
    expected: dict[str, str]
    passed: bool
    checks: list[CheckDoc] = field(default_factory=list)
    stage: str = "smoke"


@dataclass(frozen=True)
class DeliveryReport(Record):
    """The traffic steps of one release: each step's weight, hold and numbers from both releases' /metrics."""

    FILE: ClassVar[str] = "reports/delivery.json"
    PRODUCER: ClassVar[str] = "deploy"
    endpoint_url: str
    champion: ReleaseRef  # url, model_version
    candidate: ReleaseRef  # url, model_version
    config_file: str
    passed: bool
    steps: list[StepDoc]  # name, weight, hold_s, seconds, measurements, checks (CheckDoc: name, passed, value...)
    final_weights: dict[str, int]  # release url -> percent
    aborted_at: str | None = None  # the step that breached
    breach: str | None = None  # "<metric> = <value> (max <limit>)"
    stage: str = "deploy"


@dataclass(frozen=True)
class MonitorReport(Record):
    """A release's live traffic in one window against its model's reference profile, and its health."""

    FILE: ClassVar[str] = "reports/monitor.json"
    PRODUCER: ClassVar[str] = "monitor"
    source: str  # the release URL or Prometheus that was read
    model_version: str
    window_start: str | None  # ISO 8601; None: since the release started (or Prometheus' range, see notes)
    window_end: str
    texts: float  # scored texts in the window
    requests: float
    healthy: bool
    drift: list[str]  # names of the drift checks that failed, e.g. ["drift.oov_share"]
    breaches: list[str]  # names of the health checks that failed
    checks: list[CheckDoc] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stage: str = "monitor"


RecordType = type[Record] | type[Candidate]


@dataclass(frozen=True)
class Stage:
    """What a stage of the chain, or an operations command, reads and writes (its module's `DECLARATION`).

    `python -m pipeline` runs the stages so that each runs after the producers of what it reads, in
    the order it lists them (`pipeline.stages.in_order`)."""

    name: str  # the module's name: `python -m pipeline.<name>`
    reads: tuple[RecordType, ...] = ()
    writes: tuple[RecordType, ...] = ()
    inputs: str = ""  # what else it reads (files, services), for the flow table
    outputs: str = ""  # what else it changes, for the flow table
