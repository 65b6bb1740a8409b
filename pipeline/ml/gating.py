"""The quality gate: measure a candidate through the serving runtime and judge it against the thresholds.

Measures the sanity set and its slices, the held-out test split, the behavioural suites,
latency, size and Keras parity and, given a champion, the drop against it. Writes the
gate report (JSON + JUnit) and, on a pass, the blessing beside the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from pipeline.errors import StageError
from pipeline.ml import anchors, blessing, data, evaluation, gate_config
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
ANCHOR_MARGIN = "anchor.tfidf_logreg_margin"


def load_model(directory: Path, role: str) -> SentimentModel:
    try:
        return SentimentModel(directory)
    except ArtifactError as exc:
        raise StageError(f"{role}: {exc}", exit_code=2) from exc


def splits_for(model: SentimentModel) -> data.Splits:
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


def side_by_side(
    candidate: dict[str, float], champion: dict[str, float], thresholds: dict[str, Threshold]
) -> dict[str, dict[str, float]]:
    """For each compared metric: the candidate's value, the champion's, the delta and the allowed drop."""
    return {
        metric: {
            "candidate": candidate[metric],
            "champion": champion[metric],
            "delta": candidate[metric] - champion[metric],
            "allowed_drop": thresholds[name].limit,
        }
        for name, metric in CHAMPION_DROPS.items()
        if name in thresholds
    }


def anchor_accuracy(model: SentimentModel, splits: data.Splits, log: Callable[[str], None]) -> float:
    """TF-IDF + logistic regression's held-out accuracy on the same split: from training's record, else now."""
    recorded = model.metadata.get("anchors", {}).get("tfidf_logreg", {}).get("accuracy")
    if recorded is not None:
        return float(recorded)
    log("scoring the TF-IDF + logistic regression anchor on the test split (not recorded at training)")
    return anchors.tfidf_logreg(splits, int(model.metadata["hyperparameters"]["seed"]))["accuracy"]


def judge(
    thresholds: dict[str, Threshold],
    measurements: dict[str, float],
    comparison: dict[str, dict[str, float]] | None,
) -> list[CheckResult]:
    checks = []
    for name, threshold in thresholds.items():
        if name in CHAMPION_DROPS and comparison is None:
            continue
        if name not in measurements:
            raise StageError(f"the thresholds file names `{name}`, which the gate does not measure", exit_code=2)
        value = measurements[name]
        expected = f"{'>=' if threshold.bound == 'min' else '<='} {threshold.limit:g}"
        detail = threshold.reason
        if comparison is not None and name in CHAMPION_DROPS:
            row = comparison[CHAMPION_DROPS[name]]
            detail = (
                f"candidate {row['candidate']:.4f}, champion {row['champion']:.4f}, delta {row['delta']:+.4f}; {detail}"
            )
        checks.append(CheckResult(name, threshold.passes(value), value, expected, detail))
    return checks


def format_comparison(champion_version: str, comparison: dict[str, dict[str, float]]) -> str:
    lines = [
        f"{'compared with champion ' + champion_version:<34}{'candidate':>10}{'champion':>10}{'delta':>9}{'allowed':>9}"
    ]
    for metric, row in comparison.items():
        lines.append(
            f"{metric:<34}{row['candidate']:>10.4f}{row['champion']:>10.4f}{row['delta']:>+9.4f}{-row['allowed_drop']:>+9.4f}"
        )
    return "\n".join(lines)


def load_config(quality_gates: Path, thresholds_path: Path) -> GateConfig:
    try:
        return gate_config.load(quality_gates, thresholds_path)
    except GateConfigError as exc:
        raise StageError(str(exc), exit_code=2) from exc


def run_gate(
    model_dir: Path,
    config: GateConfig,
    thresholds_path: Path,
    quality_gates: Path,
    reports_dir: Path,
    baseline_dir: Path | None,
    log: Callable[[str], None] = print,
) -> tuple[list[CheckResult], GateReport]:
    """Measure and judge; on a pass, bless. The caller has removed any earlier blessing first."""
    started = time.monotonic()
    candidate = load_model(model_dir, "candidate")
    log(f"candidate {candidate.version}: measuring on {len(config.sanity)} sanity texts, suites, test split")
    splits = splits_for(candidate)
    measurements = measure(candidate, config, splits)
    measurements[ANCHOR_MARGIN] = measurements["test.accuracy"] - anchor_accuracy(candidate, splits, log)
    champion_version, comparison = None, None
    if baseline_dir is not None:
        champion = load_model(baseline_dir, "champion")
        champion_version = champion.version
        log(f"comparing with champion {champion.version} on the same data")
        champion_quality = evaluation.quality(champion, config.sanity, splits)
        measurements.update(champion_drops(measurements, champion_quality))
        comparison = side_by_side(measurements, champion_quality, config.thresholds)
    else:
        log("no champion to compare with: the champion checks are not run")
    checks = judge(config.thresholds, measurements, comparison)
    passed = all(c.passed for c in checks)
    report = GateReport(
        passed=passed,
        model_version=candidate.version,
        champion_version=champion_version,
        champion_comparison=comparison or {},
        thresholds_file=str(thresholds_path),
        measurements=measurements,
        checks=[c.to_dict() for c in checks],
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
