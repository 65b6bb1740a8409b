"""What the model report shows, measured: curves, histograms, confusion, slices, suites, model card.

Scores both models through the service's runtime on the same examples the gate judged (the
held-out split and the sanity set), so the page shows the numbers behind the gate's verdict.
Plain data only (`ModelReport`); `pipeline.html_report` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.ml import data, gating
from pipeline.ml.gate_config import GateConfig
from pipeline.records import GateReport
from sentiment.runtime import SentimentModel

SCORE_BINS = 20
CALIBRATION_BINS = 10
FAILING_EXAMPLES = 3

# Published results on the same kind of data (Pang & Lee's sentence polarity snippets), for context:
# other splits and preprocessing, so not a threshold.
PUBLISHED = (
    ("NB-SVM, word bigrams", 0.794, "Wang & Manning 2012, ACL, Table 3 (MR, 10-fold CV)"),
    ("CNN on word2vec, static", 0.810, "Kim 2014, EMNLP, Table 2 (MR, 10-fold CV)"),
)


@dataclass(frozen=True)
class Scored:
    """One model's scores on the held-out split (labels shared) and the sanity set."""

    version: str
    test_scores: list[float]
    sanity_scores: list[float]


@dataclass(frozen=True)
class SliceRow:
    tag: str
    examples: int
    candidate_accuracy: float
    champion_accuracy: float | None
    failing: list[dict[str, Any]]  # text, label, candidate score


@dataclass(frozen=True)
class ModelReport:
    report: GateReport
    threshold: float
    test_labels: list[int]
    candidate: Scored
    champion: Scored | None
    slices: list[SliceRow]
    suite_failures: dict[str, list[dict[str, Any]]]
    anchors: dict[str, dict[str, float]]
    published: list[tuple[str, float, str]]
    card: dict[str, Any]
    reasons: dict[str, str]  # check name -> the threshold's reason
    history: list[dict[str, Any]] = field(default_factory=list)  # the champion's promotions, newest last


def _scored(model: SentimentModel, splits: data.Splits, sanity: list[dict[str, Any]]) -> Scored:
    return Scored(
        model.version,
        [float(s) for s in model.scores([ex.text for ex in splits.test])],
        [float(s) for s in model.scores([row["text"] for row in sanity])],
    )


def _slices(
    sanity: list[dict[str, Any]], threshold: float, candidate: Scored, champion: Scored | None
) -> list[SliceRow]:
    labels = np.array([row["label"] == "positive" for row in sanity])
    ours = np.array(candidate.sanity_scores) >= threshold
    theirs = None if champion is None else np.array(champion.sanity_scores) >= threshold
    rows = []
    for tag in sorted({t for row in sanity for t in row["tags"]}):
        mask = np.array([tag in row["tags"] for row in sanity])
        wrong = [i for i in np.flatnonzero(mask) if ours[i] != labels[i]]
        rows.append(
            SliceRow(
                tag,
                int(mask.sum()),
                float(np.mean(ours[mask] == labels[mask])),
                None if theirs is None else float(np.mean(theirs[mask] == labels[mask])),
                [
                    {"text": sanity[i]["text"], "label": sanity[i]["label"], "score": candidate.sanity_scores[i]}
                    for i in wrong[:FAILING_EXAMPLES]
                ],
            )
        )
    return rows


def _suite_failures(model: SentimentModel, suites: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    threshold = model.threshold
    failures: dict[str, list[dict[str, Any]]] = {}
    mft = suites["minimum_functionality"]
    scores = model.scores([r["text"] for r in mft])
    failures["minimum_functionality"] = [
        {"text": r["text"], "expected": r["label"], "score": float(s)}
        for r, s in zip(mft, scores, strict=True)
        if (s >= threshold) != (r["label"] == "positive")
    ][:FAILING_EXAMPLES]
    for name in ("invariance", "directional"):
        rows = suites[name]
        before = model.scores([r["original"] for r in rows])
        after = model.scores([r["variant"] for r in rows])
        failed = []
        for r, a, b in zip(rows, before, after, strict=True):
            if name == "invariance":
                bad = (a >= threshold) != (b >= threshold)
            else:
                bad = b > a + 1e-6 if r["expect"] == "not_higher" else b < a - 1e-6
            if bad:
                failed.append(
                    {"original": r["original"], "variant": r["variant"], "before": float(a), "after": float(b)}
                )
        failures[name] = failed[:FAILING_EXAMPLES]
    return failures


def model_card(model: SentimentModel, report: GateReport) -> dict[str, Any]:
    """The model card, also written as JSON for tools."""
    metadata = model.metadata
    return {
        "model_version": model.version,
        "architecture": metadata.get("architecture", {"name": "ngram", "version": 1}),
        "created": metadata.get("created"),
        "intended_use": (
            "Sentiment (positive/negative) of short English movie-review sentences, scored one text or a "
            "batch at a time through the HTTP API. Not for other languages, long documents, or decisions "
            "about people."
        ),
        "training_data": metadata.get("data", {}),
        "hyperparameters": metadata.get("hyperparameters", {}),
        "metrics": {**metadata.get("metrics", {}), "gate": report.measurements},
        "limits": [
            "Negated negatives ('not boring') are often scored negative: a bag of n-grams sees 'boring'.",
            "Words unseen in training carry no weight; texts made of them score near the prior.",
            "Scores are calibrated on the training corpus's balance, not on your traffic's.",
        ],
        "gate": {"passed": report.passed, "failed": report.failed, "champion": report.champion_version},
    }


def gather(
    candidate_dir: Path,
    champion_dir: Path | None,
    config: GateConfig,
    report: GateReport,
    history: list[dict[str, Any]] | None = None,
) -> ModelReport:
    """Score the candidate (and the champion) again on what the gate measured them on."""
    candidate = gating.load_model(candidate_dir, "candidate")
    champion = None if champion_dir is None else gating.load_model(champion_dir, "champion")
    splits = gating.splits_for(candidate)
    ours = _scored(candidate, splits, config.sanity)
    theirs = None if champion is None else _scored(champion, splits, config.sanity)
    return ModelReport(
        report=report,
        threshold=candidate.threshold,
        test_labels=[ex.label for ex in splits.test],
        candidate=ours,
        champion=theirs,
        slices=_slices(config.sanity, candidate.threshold, ours, theirs),
        suite_failures=_suite_failures(candidate, config.suites),
        anchors=candidate.metadata.get("anchors", {}),
        published=list(PUBLISHED),
        card=model_card(candidate, report),
        reasons={name: t.reason for name, t in config.thresholds.items()},
        history=history or [],
    )
