"""The reports' plots as SVG files (matplotlib, no display, no fonts from the network)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

# Same plot, same bytes: no creation date, a fixed id salt.
matplotlib.rcParams.update({"svg.hashsalt": "sentiment-api", "font.size": 9})
_METADATA = {"Date": None}
COLORS = {"candidate": "#1f77b4", "champion": "#ff7f0e"}


def _figure(width: float = 5.0, height: float = 3.6) -> tuple[Figure, Any]:
    """A figure without pyplot: no global state, no display backend."""
    figure = Figure(figsize=(width, height))
    return figure, figure.subplots()


def _save(figure: Figure, path: Path) -> str:
    figure.tight_layout()
    figure.savefig(path, format="svg", metadata=_METADATA)
    return path.name


def roc_points(labels: Sequence[int], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels)
    order = np.argsort(-np.asarray(scores), kind="stable")
    hits = np.cumsum(y[order])
    tpr = np.concatenate([[0.0], hits / max(y.sum(), 1)])
    fpr = np.concatenate([[0.0], (np.arange(1, len(y) + 1) - hits) / max((1 - y).sum(), 1)])
    return fpr, tpr


def calibration(labels: Sequence[int], scores: Sequence[float], bins: int) -> list[tuple[float, float, int]]:
    """(mean score, observed positive share, count) per score bin that holds examples."""
    y, s = np.asarray(labels), np.asarray(scores)
    index = np.minimum((s * bins).astype(int), bins - 1)
    return [
        (float(s[index == b].mean()), float(y[index == b].mean()), int((index == b).sum()))
        for b in range(bins)
        if (index == b).any()
    ]


def roc(path: Path, labels: Sequence[int], curves: dict[str, Sequence[float]]) -> str:
    figure, axes = _figure()
    for name, scores in curves.items():
        fpr, tpr = roc_points(labels, scores)
        axes.plot(fpr, tpr, label=name, color=COLORS.get(name))
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, held-out split")
    axes.legend(loc="lower right")
    return _save(figure, path)


def reliability(path: Path, labels: Sequence[int], curves: dict[str, Sequence[float]], bins: int) -> str:
    figure, axes = _figure()
    for name, scores in curves.items():
        points = calibration(labels, scores, bins)
        axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name, color=COLORS.get(name))
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axes.set(xlabel="mean score in bin", ylabel="observed positive share", title="Calibration, held-out split")
    axes.legend(loc="upper left")
    return _save(figure, path)


def histograms(path: Path, curves: dict[str, Sequence[float]], bins: int) -> str:
    figure, axes = _figure()
    edges = np.linspace(0, 1, bins + 1)
    for name, scores in curves.items():
        axes.hist(scores, bins=edges, histtype="step", linewidth=1.5, label=name, color=COLORS.get(name))
    axes.set(xlabel="score = P(positive)", ylabel="texts", title="Score distribution, held-out split")
    axes.legend(loc="upper center")
    return _save(figure, path)


def confusion(path: Path, matrix: list[list[int]]) -> str:
    figure, axes = _figure(3.6, 3.2)
    axes.imshow(np.asarray(matrix), cmap="Blues")
    for (row, column), count in np.ndenumerate(np.asarray(matrix)):
        axes.text(column, row, str(count), ha="center", va="center")
    axes.set_xticks([0, 1], ["negative", "positive"])
    axes.set_yticks([0, 1], ["negative", "positive"])
    axes.set(xlabel="predicted", ylabel="actual", title="Confusion, held-out split")
    return _save(figure, path)


def timeline(path: Path, title: str, ylabel: str, series: dict[str, tuple[Sequence[float], Sequence[float]]]) -> str:
    """Lines over seconds since the release began; `series` maps a name to (seconds, values)."""
    figure, axes = _figure(6.0, 2.8)
    for name, (seconds, values) in series.items():
        axes.plot(seconds, values, marker=".", label=name, color=COLORS.get(name))
    axes.set(xlabel="seconds since the rollout began", ylabel=ylabel, title=title)
    axes.legend(loc="best")
    return _save(figure, path)
