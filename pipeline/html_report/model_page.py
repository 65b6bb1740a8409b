"""`reports/model.html`: the gate's verdict and the model behind it, for a reviewer to look at."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipeline.html_report import page, plots
from pipeline.ml.model_report import CALIBRATION_BINS, SCORE_BINS, ModelReport

PAGE = "model.html"
CARD = "model_card.json"


def _confusion(labels: list[int], scores: list[float], threshold: float) -> list[list[int]]:
    y, predicted = np.asarray(labels), np.asarray(scores) >= threshold
    return [[int(((y == actual) & (predicted == bool(guess))).sum()) for guess in (0, 1)] for actual in (0, 1)]


def _checks(report: ModelReport) -> str:
    rows = [
        [page.text(c["name"]), page.number(c["value"]), page.text(c["expected"]), page.verdict(c["passed"]),
         page.text(report.reasons.get(c["name"], c.get("detail", "")))]
        for c in report.report.checks
    ]  # fmt: skip
    return page.table(["check", "value", "threshold", "result", "why this threshold"], rows, numeric=[1])


def _comparison(report: ModelReport) -> str:
    if report.champion is None:
        return '<p class="note">No champion to compare with (the first release, or --no-champion).</p>'
    rows = [
        [page.text(metric), page.number(v["candidate"]), page.number(v["champion"]), page.number(v["delta"]),
         page.number(v.get("allowed_drop"))]
        for metric, v in report.report.champion_comparison.items()
    ]  # fmt: skip
    compared_on = report.report.champion_compared_on
    examples = f"{compared_on.get('examples', 0)} held-out and {len(report.candidate.sanity_scores)} sanity examples"
    return (
        f"<p>Candidate {page.text(report.candidate.version)} against champion {page.text(report.champion.version)},"
        f" both scored on the same {examples}: {page.text(compared_on.get('note', ''))}.</p>"
        + page.table(["metric", "candidate", "champion", "delta", "allowed drop"], rows, numeric=[1, 2, 3, 4])
    )


def _ladder(report: ModelReport) -> str:
    test = report.report.measurements
    rows = [
        [
            "this candidate",
            page.number(test.get("test.accuracy")),
            page.number(test.get("test.roc_auc")),
            "measured by the gate",
        ]
    ]
    if report.champion is not None:
        champion = report.report.champion_comparison.get("test.accuracy", {})
        rows.append(
            [
                f"champion {page.text(report.champion.version)}",
                page.number(champion.get("champion")),
                "",
                "same examples",
            ]
        )
    rows += [
        [page.text(name), page.number(m.get("accuracy")), page.number(m.get("roc_auc")), "same held-out split"]
        for name, m in report.anchors.items()
    ]
    rows += [[page.text(name), page.number(acc, 3), "", page.text(source)] for name, acc, source in report.published]
    return page.table(["model", "accuracy", "ROC AUC", "source"], rows, numeric=[1, 2])


def _slices(report: ModelReport) -> str:
    rows = []
    for row in report.slices:
        failing = "<br>".join(
            f'{page.text(f["text"])} <span class="note">({page.text(f["label"])}, score {f["score"]:.3f})</span>'
            for f in row.failing
        )
        rows.append([page.text(row.tag), str(row.examples), page.number(row.candidate_accuracy),
                     page.number(row.champion_accuracy), failing or "none"])  # fmt: skip
    return page.table(
        ["slice", "texts", "candidate", "champion", "failing examples (up to 3)"], rows, numeric=[1, 2, 3]
    )


def _suites(report: ModelReport) -> str:
    parts = []
    for suite, failures in report.suite_failures.items():
        measured = report.report.measurements.get(f"suite.{suite}")
        parts.append(f"<h3>{page.text(suite)}: {page.number(measured)}</h3>")
        if not failures:
            parts.append('<p class="note">No failing example.</p>')
            continue
        headers = list(failures[0])
        parts.append(page.table(headers, [[page.number(f[h], 3) for h in headers] for f in failures]))
    return "".join(parts)


def _card(report: ModelReport) -> str:
    card = report.card
    data = card.get("training_data", {})
    rows = [
        ["intended use", page.text(card["intended_use"])],
        ["architecture", page.text(card["architecture"])],
        ["trained", page.text(card.get("created"))],
        ["training data", page.text(data.get("source", "unknown"))],
        ["data fingerprint", page.text(data.get("fingerprint", "unknown"))],
        ["rows per split", page.text(data.get("sizes", data.get("split_sizes", "unknown")))],
        ["limits", "<br>".join(page.text(limit) for limit in card["limits"])],
    ]
    return page.table(["", ""], rows)


def _history(report: ModelReport) -> str:
    if not report.history:
        return '<p class="note">No promotion recorded in this environment yet.</p>'
    rows = [
        [page.text(e.get("promoted")), page.text(e.get("kind", "")), page.text(e.get("version")),
         page.text(e.get("promoted_by") or ""), page.text(e.get("build_url") or "")]
        for e in report.history
    ]  # fmt: skip
    return page.table(["when", "event", "version", "who", "build"], rows)


def write(report: ModelReport, directory: Path) -> Path:
    """The page, its plots and the model card JSON, all in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    curves = {"candidate": report.candidate.test_scores}
    if report.champion is not None:
        curves["champion"] = report.champion.test_scores
    labels = report.test_labels
    figures = [
        plots.roc(directory / "model-roc.svg", labels, curves),
        plots.reliability(directory / "model-calibration.svg", labels, curves, CALIBRATION_BINS),
        plots.histograms(directory / "model-scores.svg", curves, SCORE_BINS),
        plots.confusion(
            directory / "model-confusion.svg", _confusion(labels, report.candidate.test_scores, report.threshold)
        ),
    ]
    (directory / CARD).write_text(json.dumps(report.card, indent=2, sort_keys=True, default=str) + "\n")
    gate = report.report
    status = "BLESSED" if gate.passed else f"BLOCKED: {len(gate.failed)} of {len(gate.checks)} checks failed"
    body = "\n".join([
        f"<h1>Model {page.text(gate.model_version)}</h1>",
        f'<p class="verdict">{page.verdict(gate.passed, status)}</p>',
        "<h2>Checks</h2>", _checks(report),
        "<h2>Candidate and champion</h2>", _comparison(report),
        "<h2>Anchor ladder</h2>", _ladder(report),
        '<h2>Plots</h2><div class="plots">' + "".join(page.image(f, f) for f in figures) + "</div>",
        "<h2>Slices of the sanity set</h2>", _slices(report),
        "<h2>Behavioural suites</h2>", _suites(report),
        "<h2>Model card</h2>", _card(report), f'<p class="note">Also as JSON: {page.text(CARD)}</p>',
        "<h2>Champion's time in service</h2>", _history(report),
    ])  # fmt: skip
    return page.write(directory / PAGE, f"Model {gate.model_version}", body)
