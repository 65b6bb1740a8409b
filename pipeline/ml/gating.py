"""The quality gate: measure a candidate through the serving runtime and judge it against the thresholds.

Measures the sanity set and its slices, the held-out test split, the behavioural suites,
latency, size and Keras parity and, given a champion, the drop against it. Writes the
gate report (JSON + JUnit) and, on a pass, the blessing beside the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.errors import StageError
from pipeline.ml import anchors, blessing, data, datasets, evaluation, gate_config
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
    """The split of the dataset the model recorded it was trained on (its lineage), read again."""
    lineage = model.metadata.get("data", {})
    try:
        splits = datasets.load(datasets.DatasetSpec.from_lineage(lineage)).splits
    except data.DataError as exc:
        raise StageError(f"the candidate's dataset: {exc}", exit_code=2) from exc
    if splits.fingerprint != lineage.get("fingerprint") or lineage.get("split") != data.SPLIT_DEFINITION:
        raise StageError(
            f"the candidate was trained on other data than {lineage.get('source')} holds now, or split otherwise; "
            "retrain it",
            exit_code=2,
        )
    return splits


def held_out_for_both(candidate: SentimentModel, champion: SentimentModel, splits: data.Splits) -> dict[str, Any]:
    """Which test examples neither model trained on. Splits by the same definition put a text in the same
    split whatever the seed or dataset, so then it is all of the candidate's test split; a champion that
    recorded no split definition (or another one) may have trained on any of them: none is claimed."""
    ours = candidate.metadata["data"]["split"]
    theirs = champion.metadata.get("data", {}).get("split")
    if theirs != ours:
        return {
            "examples": 0,
            "split": ours,
            "note": f"the champion's split ({theirs or 'not recorded'}) is not {ours!r}: which examples it trained "
            "on cannot be established, so the held-out test checks against it are not run",
        }
    return {
        "examples": len(splits.test),
        "split": ours,
        "note": f"the candidate's {len(splits.test)} test examples: by the split definition neither model trained "
        f"on them (champion data {str(champion.metadata['data'].get('fingerprint'))[:12]}, "
        f"candidate data {candidate.metadata['data']['fingerprint'][:12]})",
    }


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
    return {name: champion[metric] - candidate[metric] for name, metric in CHAMPION_DROPS.items() if metric in champion}


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
        if name in thresholds and metric in champion
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
        if name in CHAMPION_DROPS and (comparison is None or CHAMPION_DROPS[name] not in comparison):
            continue  # no champion, or one that cannot be compared on this metric (the report says why)
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
    champion_version, comparison, compared_on = None, None, {}
    if baseline_dir is not None:
        champion = load_model(baseline_dir, "champion")
        champion_version = champion.version
        compared_on = held_out_for_both(candidate, champion, splits)
        log(f"comparing with champion {champion.version} on the sanity set and {compared_on['note']}")
        champion_quality = evaluation.sanity(champion, config.sanity)
        if compared_on["examples"]:
            champion_quality.update(evaluation.held_out(champion, splits))
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
        champion_compared_on=compared_on,
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
