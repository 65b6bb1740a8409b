"""Load and validate `quality_gates/`: thresholds, the sanity set and the behavioural suites.

Any problem is a GateConfigError with one line naming the file and what is wrong.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LABELS = ("positive", "negative")
SUITES = {
    "minimum_functionality": {"text", "label"},
    "invariance": {"original", "variant"},
    "directional": {"original", "variant", "expect"},
}
DIRECTIONS = ("not_higher", "not_lower")


class GateConfigError(Exception):
    """A thresholds file, sanity set or suite file is missing or malformed."""


@dataclass(frozen=True)
class Threshold:
    name: str  # "<section>.<key>", the name of the measurement it bounds
    bound: str  # "min" or "max"
    limit: float
    reason: str

    def passes(self, value: float) -> bool:
        return value >= self.limit if self.bound == "min" else value <= self.limit


@dataclass(frozen=True)
class GateConfig:
    thresholds: dict[str, Threshold]
    sanity: list[dict[str, Any]]
    suites: dict[str, list[dict[str, Any]]]


def load_thresholds(path: Path) -> dict[str, Threshold]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GateConfigError(f"thresholds file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GateConfigError(f"thresholds file {path} is not valid TOML: {exc}") from exc
    thresholds = {}
    for section, entries in doc.items():
        if not isinstance(entries, dict):
            raise GateConfigError(f"{path}: [{section}] must be a table of thresholds")
        for key, spec in entries.items():
            name = f"{section}.{key}"
            bounds = [b for b in ("min", "max") if isinstance(spec, dict) and b in spec]
            if not isinstance(spec, dict) or len(bounds) != 1:
                raise GateConfigError(f"{path}: {name} needs exactly one of `min` or `max`")
            limit = spec[bounds[0]]
            if isinstance(limit, bool) or not isinstance(limit, int | float):
                raise GateConfigError(f"{path}: {name}.{bounds[0]} must be a number")
            reason = spec.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                raise GateConfigError(f"{path}: {name} needs a one-line `reason`")
            thresholds[name] = Threshold(name, bounds[0], float(limit), reason.strip())
    if not thresholds:
        raise GateConfigError(f"{path}: no thresholds")
    return thresholds


def load_jsonl(path: Path, required: set[str]) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise GateConfigError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GateConfigError(f"cannot read {path}: {exc}") from exc
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GateConfigError(f"{path}:{number}: not valid JSON: {exc}") from exc
        if not isinstance(row, dict) or not required <= set(row):
            raise GateConfigError(f"{path}:{number}: needs the fields {', '.join(sorted(required))}")
        for field in required & {"text", "original", "variant"}:
            if not isinstance(row[field], str) or not row[field].strip():
                raise GateConfigError(f"{path}:{number}: `{field}` must be a non-empty string")
        if "label" in required and row["label"] not in LABELS:
            raise GateConfigError(f"{path}:{number}: `label` must be one of {', '.join(LABELS)}")
        if "expect" in required and row["expect"] not in DIRECTIONS:
            raise GateConfigError(f"{path}:{number}: `expect` must be one of {', '.join(DIRECTIONS)}")
        rows.append(row)
    if not rows:
        raise GateConfigError(f"{path} is empty")
    return rows


def load(directory: Path, thresholds_path: Path) -> GateConfig:
    thresholds = load_thresholds(thresholds_path)
    sanity = load_jsonl(directory / "sanity_set.jsonl", {"text", "label", "tags"})
    for row in sanity:
        if not isinstance(row["tags"], list) or not row["tags"] or not all(isinstance(t, str) for t in row["tags"]):
            raise GateConfigError(f"{directory / 'sanity_set.jsonl'}: `tags` must be a non-empty list of strings")
    suites = {name: load_jsonl(directory / "suites" / f"{name}.jsonl", fields) for name, fields in SUITES.items()}
    missing = sorted({f"slice.{t}" for row in sanity for t in row["tags"]} - set(thresholds))
    if missing:
        raise GateConfigError(f"{thresholds_path}: no threshold for {', '.join(missing)}")
    return GateConfig(thresholds, sanity, suites)
