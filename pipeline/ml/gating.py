"""The quality gate: measure a candidate through the serving runtime and judge it against the thresholds.

Measures the sanity set and its slices, the held-out test split, the behavioural suites,
latency, size and Keras parity and, given a champion, the drop against it. Writes the
gate report (JSON + JUnit) and, on a pass, the blessing beside the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from pipeline.cli import StageError
from pipeline.ml import blessing, data, evaluation, gate_config
from pipeline.ml.gate_config import GateConfig, GateConfigError, Threshold
from pipeline.records import GateReport
from pipeline.reports import CheckResult, write_junit
from sentiment.artifact import ArtifactError
from sentiment.runtime import SentimentModel

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
    model_dir: Path,
    thresholds_path: Path,
    quality_gates: Path,
    reports_dir: Path,
    baseline_dir: Path | None,
    log: Callable[[str], None] = print,
) -> tuple[list[CheckResult], GateReport]:
    started = time.monotonic()
    try:
        config = gate_config.load(quality_gates, thresholds_path)
    except GateConfigError as exc:
        raise StageError(str(exc), exit_code=2) from exc
    blessing.remove(model_dir)  # whatever happens next, a stale blessing must not survive
    candidate = _load_model(model_dir, "candidate")
    log(f"candidate {candidate.version}: measuring on {len(config.sanity)} sanity texts, suites, test split")
    splits = _splits_for(candidate)
    measurements = measure(candidate, config, splits)
    champion_version = None
    if baseline_dir is not None:
        champion = _load_model(baseline_dir, "baseline")
        champion_version = champion.version
        log(f"comparing with champion {champion.version} on the same data")
        measurements.update(champion_drops(measurements, evaluation.quality(champion, config.sanity, splits)))
    checks = judge(config.thresholds, measurements, has_champion=baseline_dir is not None)
    passed = all(c.passed for c in checks)
    report = GateReport(
        passed=passed,
        model_version=candidate.version,
        champion_version=champion_version,
        thresholds_file=str(thresholds_path),
        measurements=measurements,
        checks=[c.__dict__ for c in checks],
        failed=[c.name for c in checks if not c.passed],
    )
    report_path = report.write_file(reports_dir / Path(GateReport.FILE).name)
    write_junit(reports_dir / "gate.xml", "gate", checks, time.monotonic() - started)
    if passed:
        blessing.write(
            model_dir,
            candidate.version,
            thresholds_path,
            quality_gates,
            report_path,
            [c.name for c in checks],
            champion_version,
        )
    return checks, report
