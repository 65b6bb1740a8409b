"""Stage reports: a JSON document and a JUnit XML file that Jenkins' `junit` step reads."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET  # nosec B405 - builds JUnit XML; never parses any
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# The value of a check that had no measurement to judge (too little data, a missing series, a value that is
# no count). Such a check never passes: missing data is never a pass.
INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    value: float | str | None
    expected: str  # e.g. ">= 0.78"
    detail: str = ""

    @classmethod
    def without_data(cls, name: str, expected: str, why: str) -> CheckResult:
        return cls(name, False, INCONCLUSIVE, expected, why)

    @property
    def inconclusive(self) -> bool:
        return self.value == INCONCLUSIVE

    def to_dict(self) -> dict[str, Any]:
        """The check as reports store it (pipeline.records.CheckDoc)."""
        return asdict(self)

    def line(self) -> str:
        value = f"{self.value:.4g}" if isinstance(self.value, float) else str(self.value)
        text = f"{self.name} = {value} (required {self.expected})"
        return f"{text}: {self.detail}" if self.detail else text


def format_table(checks: list[CheckResult]) -> str:
    width = max(len(c.name) for c in checks)
    rows = [f"{'check':<{width}}  {'value':>10}  {'threshold':<12}  result"]
    for c in checks:
        value = f"{c.value:.4f}" if isinstance(c.value, float) else str(c.value)
        rows.append(f"{c.name:<{width}}  {value:>10}  {c.expected:<12}  {'pass' if c.passed else 'FAIL'}")
    return "\n".join(rows)


def print_checks(stage: str, checks: list[CheckResult]) -> None:
    """The table, then one `<stage>: FAILED ...` line per failed check (what CI logs are grepped for)."""
    print(format_table(checks))
    for check in checks:
        if not check.passed:
            print(f"{stage}: FAILED {check.line()}")


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_junit(path: Path, suite: str, checks: list[CheckResult], seconds: float) -> None:
    failures = [c for c in checks if not c.passed]
    root = ET.Element("testsuites", name=suite, tests=str(len(checks)), failures=str(len(failures)))
    node = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(checks)),
        failures=str(len(failures)),
        errors="0",
        time=f"{seconds:.3f}",
    )
    for check in checks:
        section, _, name = check.name.rpartition(".")
        case = ET.SubElement(
            node, "testcase", classname=f"{suite}.{section}" if section else suite, name=name, time="0"
        )
        if not check.passed:
            failure = ET.SubElement(case, "failure", message=check.line(), type="threshold")
            failure.text = check.line()
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
