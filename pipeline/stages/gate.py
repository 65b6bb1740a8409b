"""Stage `gate`: bless the candidate only if it passes every threshold in quality_gates/.

Reads the candidate (`records.Candidate`), quality_gates/ (thresholds, sanity set, suites)
and the environment's champion from the model registry (fetched and verified by the
service's own loader; --baseline DIR instead, or --no-champion to skip, logged). Measures
both on the same data and applies the `champion.*` thresholds; before the first release
there is no champion ("no champion yet"). A registry that exists but cannot be read, or a
champion that fails verification, stops the gate (exit 2): it never blesses without the
comparison it was asked for. Writes `records.GateReport` (+ gate.xml, JUnit, and
model.html: `pipeline.html_report`) and, on a pass, `records.Blessing` beside the model.
A blessed model whose inputs are all unchanged (the model, thresholds, sanity set and suites,
champion, the gate's code and libraries, and its report) stays blessed without being measured
again, as an unchanged `train` reuses its candidate; --force judges it again.
Exit 0 = blessed, 1 = a check failed (each named), 2 = bad input (thresholds, sanity
set, suites or artifact).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline import environments
from pipeline.errors import StageError, log, run
from pipeline.html_report import model_page
from pipeline.ml import blessing, model_report
from pipeline.ml.gating import format_comparison, load_config, run_gate
from pipeline.records import Blessing, Candidate, GateReport
from pipeline.reports import CheckResult, print_checks
from pipeline.settings import PipelineSettings, get_settings
from sentiment.model_registry import ModelRegistryError

STAGE = "gate"
WRITES = GateReport


def serving_champion(settings: PipelineSettings) -> tuple[Path | None, list[dict[str, Any]]]:
    """A verified local copy of the environment's champion (None when there is none yet) and the
    promotion history that put it there (for the report)."""
    try:
        registry = environments.current(settings).existing_model_registry()
        found = registry.fetch_champion(settings.artifacts_dir / "champion-cache") if registry else None
        history = registry.history() if found else []
    except (ModelRegistryError, BotoCoreError, ClientError) as exc:
        raise StageError(f"cannot compare with the champion: {exc} (--no-champion skips the comparison)", 2) from exc
    if found is None:
        log(STAGE, f"no champion yet in s3://{settings.model_bucket}: the champion checks are not run")
        return None, []
    version, directory = found
    log(STAGE, f"champion {version} fetched from s3://{settings.model_bucket} and verified")
    return directory, history


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m pipeline.gate", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=settings.candidate_dir, help="candidate artifact directory")
    parser.add_argument("--thresholds", type=Path, default=settings.thresholds_file, help="thresholds TOML")
    parser.add_argument(
        "--quality-gates", type=Path, default=settings.quality_gates_dir, help="sanity set and suites directory"
    )
    parser.add_argument("--baseline", type=Path, help="compare with this artifact instead of the registry's champion")
    parser.add_argument("--no-champion", action="store_true", help="do not compare with the serving champion")
    parser.add_argument("--reports", type=Path, default=settings.reports_dir, help="where gate.json/.xml go")
    parser.add_argument(
        "--force", action="store_true", help="judge again even if nothing the verdict depends on changed"
    )
    args = parser.parse_args(argv)
    previous = blessing.read(args.model)
    blessing.remove(args.model)  # whatever happens next, a stale blessing must not survive
    # The inputs first, so a bad one is one line before anything talks to the registry.
    config = load_config(args.quality_gates, args.thresholds)
    candidate = Candidate.read_dir(args.model)
    baseline, history = args.baseline, []
    if args.no_champion:
        log(STAGE, "--no-champion: the candidate is NOT compared with the serving champion")
    elif baseline is None:
        baseline, history = serving_champion(settings)
    if not args.force and _still_blessed(
        previous, candidate.version, baseline, args.thresholds, args.quality_gates, args.model, args.reports
    ):
        return 0
    checks, report = run_gate(
        args.model, config, args.thresholds, args.quality_gates, args.reports, baseline, log=lambda m: log(STAGE, m)
    )
    page = model_page.write(model_report.gather(args.model, baseline, config, report, history), args.reports)
    print_checks(STAGE, checks)
    log(STAGE, f"report: {page}")
    if report.champion_version:
        print(format_comparison(report.champion_version, report.champion_comparison))
    if report.passed:
        log(STAGE, f"PASSED: model {report.model_version} is blessed ({len(checks)} checks)")
        return 0
    log(STAGE, f"BLOCKED: model {report.model_version} failed {len(report.failed)} of {len(checks)} checks")
    return 1


def _still_blessed(
    previous: Blessing | None,
    version: str,
    baseline: Path | None,
    thresholds: Path,
    quality_gates: Path,
    model_dir: Path,
    reports: Path,
) -> bool:
    """Keep (write back) the previous blessing when nothing its verdict depends on changed."""
    report = reports / Path(GateReport.FILE).name
    if previous is None or not (reports / model_page.PAGE).is_file():
        return False
    baseline_version = Candidate.read_dir(baseline).version if baseline else None
    if not blessing.still_stands(previous, version, thresholds, quality_gates, baseline_version, report):
        return False
    previous.write_file(model_dir / Blessing.NAME)
    print_checks(STAGE, [CheckResult(**check) for check in GateReport.read_file(report).checks])
    against = f"champion {baseline_version}" if baseline_version else "no champion"
    if baseline_version == version:
        against += ", this very model"
    log(STAGE, f"inputs unchanged: model {version} stays blessed (against {against}, judged "
               f"{previous.created}; report {report}); --force judges it again")  # fmt: skip
    return True


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
