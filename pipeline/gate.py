"""Stage `gate`: bless the candidate only if it passes every threshold in quality_gates/.

Reads the candidate (`records.Candidate`) and quality_gates/ (thresholds, sanity set,
suites); loads the candidate through the service's own loader (the LiteRT artifact that
ships) and, given a baseline (the champion), measures the drop against it. Writes
`records.GateReport` (+ gate.xml, JUnit) and, on a pass, `records.Blessing` beside the model.
Exit 0 = blessed, 1 = a check failed (each named), 2 = bad input (thresholds, sanity
set, suites or artifact).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli import log, run
from pipeline.ml.gating import run_gate
from pipeline.records import GateReport
from pipeline.reports import print_checks
from pipeline.settings import get_settings

STAGE = "gate"
WRITES = GateReport


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m pipeline.gate", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=settings.candidate_dir, help="candidate artifact directory")
    parser.add_argument("--thresholds", type=Path, default=settings.thresholds_file, help="thresholds TOML")
    parser.add_argument(
        "--quality-gates", type=Path, default=settings.quality_gates_dir, help="sanity set and suites directory"
    )
    parser.add_argument("--baseline", type=Path, help="champion artifact directory to compare against")
    parser.add_argument("--reports", type=Path, default=settings.reports_dir, help="where gate.json/.xml go")
    args = parser.parse_args(argv)
    checks, report = run_gate(
        args.model, args.thresholds, args.quality_gates, args.reports, args.baseline, log=lambda m: log(STAGE, m)
    )
    print_checks(STAGE, checks)
    if report.passed:
        log(STAGE, f"PASSED: model {report.model_version} is blessed ({len(checks)} checks)")
        return 0
    log(STAGE, f"BLOCKED: model {report.model_version} failed {len(report.failed)} of {len(checks)} checks")
    return 1


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
