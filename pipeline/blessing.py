"""The blessing: proof, stored beside the artifact, that this exact model passed the gate.

blessing.json (schema 1): model_version, thresholds_sha256, quality_gates_sha256 (sanity
set + suites), report_sha256 (gate.json), checks (names), baseline_version, created.
Later stages refuse a candidate whose blessing is missing or does not match.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sentiment.artifact import sha256_file

BLESSING_FILE = "blessing.json"
SCHEMA = 1


class BlessingError(Exception):
    """The candidate is not blessed for the current quality gates."""


def quality_gates_hash(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*.jsonl")):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def write(
    model_dir: Path,
    model_version: str,
    thresholds: Path,
    quality_gates: Path,
    report: Path,
    checks: list[str],
    baseline_version: str | None,
) -> dict[str, Any]:
    blessing = {
        "schema": SCHEMA,
        "model_version": model_version,
        "thresholds_sha256": sha256_file(thresholds),
        "quality_gates_sha256": quality_gates_hash(quality_gates),
        "report_sha256": sha256_file(report),
        "checks": checks,
        "baseline_version": baseline_version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (model_dir / BLESSING_FILE).write_text(json.dumps(blessing, indent=2) + "\n", encoding="utf-8")
    return blessing


def remove(model_dir: Path) -> None:
    (model_dir / BLESSING_FILE).unlink(missing_ok=True)


def verify(model_dir: Path, model_version: str, thresholds: Path, quality_gates: Path) -> dict[str, Any]:
    path = model_dir / BLESSING_FILE
    try:
        blessing = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BlessingError(f"{model_dir} is not blessed: run `python -m pipeline.gate` first") from None
    except (OSError, ValueError) as exc:
        raise BlessingError(f"{path} is unreadable: {exc}") from exc
    if blessing.get("model_version") != model_version:
        raise BlessingError(f"{path} blesses model {blessing.get('model_version')}, not {model_version}")
    if blessing.get("thresholds_sha256") != sha256_file(thresholds):
        raise BlessingError(f"{path} was made with other thresholds than {thresholds}: re-run the gate")
    if blessing.get("quality_gates_sha256") != quality_gates_hash(quality_gates):
        raise BlessingError(f"{path} was made with another sanity set or suites: re-run the gate")
    return blessing
