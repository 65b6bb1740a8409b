"""Stage `gate`: bless the candidate only if it passes every threshold in quality_gates/.

Loads the candidate through the service's own loader (the LiteRT artifact that ships),
measures it (sanity set and slices, held-out test split, behavioural suites, latency,
size, Keras parity) and, given a baseline (the champion), the drop against it.
Writes artifacts/reports/gate.{json,xml}; on a pass, blessing.json beside the model.
Exit 0 = blessed, 1 = a check failed (each named), 2 = bad input (thresholds, sanity
set, suites or artifact).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from pipeline import blessing, data, evaluation, gate_config
from pipeline.cli import StageError, log, run
from pipeline.gate_config import GateConfig, GateConfigError, Threshold
from pipeline.reports import CheckResult, print_checks, write_json, write_junit
from sentiment.artifact import ArtifactError
from sentiment.runtime import SentimentModel
from sentiment.settings import get_settings

STAGE = "gate"
ARTIFACT = "artifacts/reports/gate.json"
QUALITY_GATES = Path("quality_gates")
CHAMPION_DROPS = {
    "champion.test_accuracy_drop": "test.accuracy",
    "champion.test_roc_auc_drop": "test.roc_auc",
    "champion.sanity_accuracy_drop": "sanity.accuracy",
}


def _load_model(directory: Path, role: str) -> SentimentModel:
    try:
        return SentimentModel(directory)
    except ArtifactError as exc:
        raise StageError(f"{role}: {exc}", exit_code=2) from exc


def _splits_for(model: SentimentModel) -> data.Splits:
    seed = int(model.metadata["hyperparameters"]["seed"])
    splits = data.load_splits(seed)
    if splits.fingerprint != model.metadata["data"]["fingerprint"]:
        raise StageError("the candidate was trained on other data than this corpus split; retrain it", exit_code=2)
    return splits


def measure(model: SentimentModel, config: GateConfig, splits: data.Splits) -> dict[str, float]:
    texts = [row["text"] for row in config.sanity]
    return {
        **evaluation.quality(model, config.sanity, splits),
        **evaluation.suites(model, config.suites),
        "latency.p99_ms": evaluation.latency_p99_ms(model, texts),
        "artifact.size_mb": evaluation.artifact_size_mb(model.directory),
        "parity.max_abs_diff": evaluation.parity_max_abs_diff(model, texts),
    }


def champion_drops(candidate: dict[str, float], champion: dict[str, float]) -> dict[str, float]:
    return {name: champion[metric] - candidate[metric] for name, metric in CHAMPION_DROPS.items()}


def judge(thresholds: dict[str, Threshold], measurements: dict[str, float], has_champion: bool) -> list[CheckResult]:
    checks = []
    for name, threshold in thresholds.items():
        if name.startswith("smoke.") or (name in CHAMPION_DROPS and not has_champion):
            continue
        if name not in measurements:
            raise StageError(f"the thresholds file names `{name}`, which the gate does not measure", exit_code=2)
        value = measurements[name]
        expected = f"{'>=' if threshold.bound == 'min' else '<='} {threshold.limit:g}"
        checks.append(CheckResult(name, threshold.passes(value), value, expected, threshold.reason))
    return checks


def run_gate(
    model_dir: Path, thresholds_path: Path, quality_gates: Path, reports_dir: Path, baseline_dir: Path | None
) -> tuple[list[CheckResult], dict[str, Any]]:
    started = time.monotonic()
    try:
        config = gate_config.load(quality_gates, thresholds_path)
    except GateConfigError as exc:
        raise StageError(str(exc), exit_code=2) from exc
    blessing.remove(model_dir)  # whatever happens next, a stale blessing must not survive
    candidate = _load_model(model_dir, "candidate")
    log(STAGE, f"candidate {candidate.version}: measuring on {len(config.sanity)} sanity texts, suites, test split")
    splits = _splits_for(candidate)
    measurements = measure(candidate, config, splits)
    champion_version = None
    if baseline_dir is not None:
        champion = _load_model(baseline_dir, "baseline")
        champion_version = champion.version
        log(STAGE, f"comparing with champion {champion.version} on the same data")
        measurements.update(champion_drops(measurements, evaluation.quality(champion, config.sanity, splits)))
    checks = judge(config.thresholds, measurements, has_champion=baseline_dir is not None)
    passed = all(c.passed for c in checks)
    report = {
        "stage": STAGE,
        "passed": passed,
        "model_version": candidate.version,
        "champion_version": champion_version,
        "thresholds_file": str(thresholds_path),
        "measurements": measurements,
        "checks": [c.__dict__ for c in checks],
        "failed": [c.name for c in checks if not c.passed],
    }
    write_json(reports_dir / "gate.json", report)
    write_junit(reports_dir / "gate.xml", STAGE, checks, time.monotonic() - started)
    if passed:
        blessing.write(
            model_dir,
            candidate.version,
            thresholds_path,
            quality_gates,
            reports_dir / "gate.json",
            [c.name for c in checks],
            champion_version,
        )
    return checks, report


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m pipeline.gate", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=settings.candidate_dir, help="candidate artifact directory")
    parser.add_argument("--thresholds", type=Path, default=QUALITY_GATES / "thresholds.toml", help="thresholds TOML")
    parser.add_argument("--quality-gates", type=Path, default=QUALITY_GATES, help="sanity set and suites directory")
    parser.add_argument("--baseline", type=Path, help="champion artifact directory to compare against")
    parser.add_argument("--reports", type=Path, default=settings.reports_dir, help="where gate.json/.xml go")
    args = parser.parse_args(argv)
    checks, report = run_gate(args.model, args.thresholds, args.quality_gates, args.reports, args.baseline)
    print_checks(STAGE, checks)
    if report["passed"]:
        log(STAGE, f"PASSED: model {report['model_version']} is blessed ({len(checks)} checks)")
        return 0
    log(STAGE, f"BLOCKED: model {report['model_version']} failed {len(report['failed'])} of {len(checks)} checks")
    return 1


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
