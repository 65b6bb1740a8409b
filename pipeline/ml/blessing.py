"""The blessing: proof, stored beside the artifact, that this exact model passed the gate.

It pins the model version, the thresholds file, the sanity set and suites (by hash), the
champion it was compared with, the gate's code and libraries, and the gate report that blessed
it (`pipeline.records.Blessing`). Later stages refuse a candidate whose blessing is missing or
does not match; the gate itself keeps a blessing whose inputs are all unchanged (`still_stands`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from pipeline.provenance import library_versions, source_hash
from pipeline.records import Blessing, RecordError
from sentiment.artifact import sha256_file

_PIPELINE = Path(__file__).resolve().parents[1]
GATE_LIBRARIES = ("tensorflow", "keras", "ai-edge-litert", "numpy", "scikit-learn", "vaderSentiment")


class BlessingError(Exception):
    """The candidate is not blessed for the current quality gates."""


def quality_gates_hash(directory: Path) -> str:
    """The sanity set and the suites: exactly what the gate judged. Smoke settings (smoke.toml,
    canaries.jsonl) are not in it, so changing them does not un-bless a model."""
    digest = hashlib.sha256()
    for path in sorted([directory / "sanity_set.jsonl", *(directory / "suites").glob("*.jsonl")]):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def gate_code_hash() -> str:
    """The gate's code and libraries: a change to either judges a blessed model again."""
    # The code that measures and judges: the gate, the ML package, and the service it measures the model through.
    code = (
        _PIPELINE / "stages" / "gate.py",
        *sorted((_PIPELINE / "ml").rglob("*.py")),
        *sorted((_PIPELINE.parent / "src" / "sentiment").rglob("*.py")),
    )
    libraries = sorted(library_versions(*GATE_LIBRARIES).items())
    return hashlib.sha256(f"{source_hash(*code)} {libraries}".encode()).hexdigest()


def write(
    model_dir: Path,
    model_version: str,
    thresholds: Path,
    quality_gates: Path,
    report: Path,
    checks: list[str],
    baseline_version: str | None,
) -> Blessing:
    blessing = Blessing(
        model_version=model_version,
        thresholds_sha256=sha256_file(thresholds),
        quality_gates_sha256=quality_gates_hash(quality_gates),
        report_sha256=sha256_file(report),
        checks=checks,
        baseline_version=baseline_version,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        gate_code_sha256=gate_code_hash(),
    )
    blessing.write_file(model_dir / Blessing.NAME)
    return blessing


def read(model_dir: Path) -> Blessing | None:
    """The model's blessing, or None (none, or unreadable)."""
    try:
        return Blessing.read_file(model_dir / Blessing.NAME)
    except RecordError:
        return None


def still_stands(
    previous: Blessing | None,
    model_version: str,
    thresholds: Path,
    quality_gates: Path,
    baseline_version: str | None,
    report: Path,
) -> bool:
    """True when nothing the verdict of `previous` depends on has changed: the model, the thresholds, the
    sanity set and suites, the champion it was compared with, the gate's code and libraries, and the
    report it blessed (still there, byte for byte). A champion that is this very model (after its first
    release) is no change: compared with itself, every champion check passes."""
    if previous is None or baseline_version not in (previous.baseline_version, model_version):
        return False
    if previous.gate_code_sha256 != gate_code_hash() or not report.is_file():
        return False
    try:
        _check(previous, Path(Blessing.NAME), model_version, thresholds, quality_gates)
    except BlessingError:
        return False
    return sha256_file(report) == previous.report_sha256


def remove(model_dir: Path) -> None:
    (model_dir / Blessing.NAME).unlink(missing_ok=True)


def verify(model_dir: Path, model_version: str, thresholds: Path, quality_gates: Path) -> Blessing:
    path = model_dir / Blessing.NAME
    if not path.is_file():
        raise BlessingError(f"{model_dir} is not blessed: run `python -m pipeline.gate` first")
    try:
        blessing = Blessing.read_file(path)
    except RecordError as exc:
        raise BlessingError(str(exc)) from None
    return _check(blessing, path, model_version, thresholds, quality_gates)


def _check(blessing: Blessing, path: Path, model_version: str, thresholds: Path, quality_gates: Path) -> Blessing:
    if blessing.model_version != model_version:
        raise BlessingError(f"{path} blesses model {blessing.model_version}, not {model_version}")
    if blessing.thresholds_sha256 != sha256_file(thresholds):
        raise BlessingError(f"{path} was made with other thresholds than {thresholds}: re-run the gate")
    if blessing.quality_gates_sha256 != quality_gates_hash(quality_gates):
        raise BlessingError(f"{path} was made with another sanity set or suites: re-run the gate")
    return blessing
