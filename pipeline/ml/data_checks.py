"""The data gates: what a dataset must look like before a model is fitted on it.

Each check is a named float judged by `quality_gates/data.toml` (min or max, with its reason), as the
model gate judges its measurements: the rows as read (empty, non-language and over-long texts,
duplicates, texts with both labels), the split (leakage of exact and near duplicates from train into
val/test, label balance per split, texts unlike anything in train) and, given the champion's data
lineage, the drift of the label balance from the data the champion was trained on. Duplicates and
conflicts are counted on the rows as read; training then keeps one row per text and drops conflicts.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipeline.errors import StageError
from pipeline.ml.data import Example, Splits, normalise
from pipeline.ml.datasets import Dataset
from pipeline.ml.gate_config import GateConfigError, Threshold, load_thresholds
from pipeline.records import DataReport
from pipeline.reports import CheckResult, print_checks, write_junit
from sentiment import artifact
from sentiment.artifact import ArtifactError
from sentiment.limits import MAX_TEXT_CHARS
from sentiment.text import tokenize

SHOWN_EXAMPLES = 3
OOV_OUTLIER_SHARE = 0.5  # a held-out text most of whose words never occur in train
LENGTH_OUTLIER_FACTOR = 3  # a held-out text three times longer than train's 99th percentile
DRIFT = "drift.label_share"
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_LETTER = re.compile(r"[^\W\d_]")
_SPACE = re.compile(r"\s")


def near_key(normalised: str) -> str:
    """Coarser than `normalise` (whose output it takes): letters and digits only, so texts that differ only
    in punctuation meet (a copy that `normalise` keeps apart, and the split may place elsewhere)."""
    return _NON_ALNUM.sub(" ", normalised).strip()


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0


def _is_language(text: str) -> bool:
    """At least half of the visible characters are letters (of any script)."""
    visible = len(text) - len(_SPACE.findall(text))
    return len(_LETTER.findall(text)) * 2 >= visible


def _shown(texts: list[str]) -> str:
    return "; ".join(repr(t[:60]) for t in texts[:SHOWN_EXAMPLES])


def measure(rows: tuple[Example, ...], splits: Splits) -> tuple[dict[str, float], dict[str, str]]:
    """The measurements and, for checks that count rows, a few of the rows counted (for the report)."""
    total = len(rows)
    texts = [ex.text for ex in rows if ex.text]
    keys = {text: normalise(text) for text in texts}
    labels_of: dict[str, set[int]] = defaultdict(set)
    first: dict[str, str] = {}
    duplicates = []
    for ex in rows:
        if ex.text:
            key = keys[ex.text]
            if key in first:
                duplicates.append(ex.text)
            first.setdefault(key, ex.text)
            labels_of[key].add(ex.label)
    conflicts = [first[key] for key, labels in labels_of.items() if len(labels) > 1]
    non_language = [t for t in texts if not _is_language(t)]
    too_long = [t for t in texts if len(t) > MAX_TEXT_CHARS]

    held_out = [*splits.val, *splits.test]
    train_keys = {keys[ex.text] for ex in splits.train}
    train_near = {near_key(key) for key in train_keys}
    exact_leaks = [ex.text for ex in held_out if keys[ex.text] in train_keys]
    near_leaks = [ex.text for ex in held_out if near_key(keys[ex.text]) in train_near]
    vocabulary = {token for ex in splits.train for token in tokenize(ex.text)}
    unknown = [ex.text for ex in held_out if _oov_share(ex.text, vocabulary) > OOV_OUTLIER_SHARE]
    lengths = sorted(len(ex.text) for ex in splits.train)
    longest_usual = lengths[int(0.99 * (len(lengths) - 1))] if lengths else 0
    long_outliers = [ex.text for ex in held_out if len(ex.text) > LENGTH_OUTLIER_FACTOR * longest_usual]

    shares = splits.positive_shares
    sizes = splits.sizes
    minority = min((min(p, 1 - p) for name, p in shares.items() if sizes[name]), default=0.0)
    gap = max((abs(shares[name] - shares["train"]) for name in ("val", "test") if sizes[name]), default=0.0)
    measurements = {
        "rows.total": float(total),
        "text.empty_share": _share(total - len(texts), total),
        "text.non_language_share": _share(len(non_language), total),
        "text.too_long_share": _share(len(too_long), total),
        "duplicates.share": _share(len(duplicates), total),
        "conflicts.share": _share(len(conflicts), len(first)),
        "leakage.exact_share": _share(len(exact_leaks), len(held_out)),
        "leakage.near_share": _share(len(near_leaks), len(held_out)),
        "balance.minority_share": minority,
        "balance.split_gap": gap,
        "outliers.length_share": _share(len(long_outliers), len(held_out)),
        "outliers.oov_share": _share(len(unknown), len(held_out)),
    }
    counted = {
        "text.non_language_share": non_language,
        "text.too_long_share": too_long,
        "duplicates.share": duplicates,
        "conflicts.share": conflicts,
        "leakage.exact_share": exact_leaks,
        "leakage.near_share": near_leaks,
        "outliers.length_share": long_outliers,
        "outliers.oov_share": unknown,
    }
    details = {name: f"{len(found)} rows, e.g. {_shown(found)}" for name, found in counted.items() if found}
    details["balance.minority_share"] = f"positive share per split {shares}, sizes {sizes}"
    details["text.empty_share"] = f"{total - len(texts)} of {total} rows have no text"
    return measurements, details


def _oov_share(text: str, vocabulary: set[str]) -> float:
    tokens = tokenize(text)
    return _share(sum(token not in vocabulary for token in tokens), len(tokens))


def label_drift(lineage: Mapping[str, Any], champion_lineage: Mapping[str, Any] | None) -> float | None:
    """|positive share of this dataset - that of the champion's|, over all splits; None when the champion
    recorded no label balance (no champion, or one trained before lineage was recorded)."""

    def overall(record: Mapping[str, Any]) -> float | None:
        shares, sizes = record.get("positive_shares"), record.get("sizes")
        if not isinstance(shares, dict) or not isinstance(sizes, dict) or not sum(sizes.values()):
            return None
        return sum(shares[name] * sizes[name] for name in sizes) / sum(sizes.values())

    ours = overall(lineage)
    theirs = overall(champion_lineage) if champion_lineage else None
    return None if ours is None or theirs is None else abs(ours - theirs)


def judge(
    thresholds: Mapping[str, Threshold], measurements: Mapping[str, float], details: Mapping[str, str]
) -> list[CheckResult]:
    """Every threshold's check; the drift check is left out when there is no champion to compare with,
    and a threshold naming nothing measured is an error (a typo must not switch a check off)."""
    unknown = sorted(set(thresholds) - set(measurements) - {DRIFT})
    if unknown:
        raise ValueError(f"the data thresholds name {', '.join(unknown)}, which the data gates do not measure")
    checks = []
    for name, threshold in thresholds.items():
        if name not in measurements:
            continue
        value = measurements[name]
        expected = f"{'>=' if threshold.bound == 'min' else '<='} {threshold.limit:g}"
        found = details.get(name)
        detail = f"{found}; {threshold.reason}" if found and not threshold.passes(value) else threshold.reason
        checks.append(CheckResult(name, threshold.passes(value), value, expected, detail))
    return checks


def run(
    dataset: Dataset,
    thresholds: Mapping[str, Threshold],
    reports_dir: Path,
    champion: Mapping[str, Any] | None = None,
) -> DataReport:
    """Measure and judge the dataset (and its label balance against the `champion`'s metadata, if given);
    write reports/data.json and data.xml (JUnit)."""
    started = time.monotonic()
    splits = dataset.splits
    data_lineage = dataset.record()
    measurements, details = measure(dataset.examples, splits)
    drift = label_drift(data_lineage, champion["data"]) if champion and "data" in champion else None
    compared_with = str(champion["version"]) if champion and drift is not None else None
    if compared_with is not None:
        measurements[DRIFT] = drift
        details[DRIFT] = f"against champion {compared_with}'s data"
    checks = judge(thresholds, measurements, details)
    report = DataReport(
        passed=all(c.passed for c in checks),
        dataset=data_lineage,
        champion_version=compared_with,
        measurements=measurements,
        checks=[c.to_dict() for c in checks],
        failed=[c.name for c in checks if not c.passed],
    )
    report.write_file(reports_dir / Path(DataReport.FILE).name)
    write_junit(reports_dir / "data.xml", "data", checks, time.monotonic() - started)
    return report


def gate(
    dataset: Dataset,
    thresholds_path: Path,
    reports_dir: Path,
    champion_dir: Path | None,
    stage: str,
    log: Callable[[str], None],
) -> DataReport:
    """Run the data gates as a stage does: the table, one `<stage>: FAILED` line per failed check, and a
    StageError (exit 1) naming the failed checks; bad thresholds or a bad champion are exit 2."""
    try:
        thresholds = load_thresholds(thresholds_path)
        champion = artifact.verify(champion_dir) if champion_dir else None
        report = run(dataset, thresholds, reports_dir, champion)
    except (GateConfigError, ValueError, ArtifactError) as exc:
        raise StageError(str(exc), exit_code=2) from exc
    print_checks(stage, [CheckResult(**check) for check in report.checks])
    if champion is None:
        log(f"no champion's data to compare the label balance with (--baseline DIR): {DRIFT} not checked")
    if not report.passed:
        raise StageError(f"the data gates stopped it: {', '.join(report.failed)} failed (report: {reports_dir})")
    log(f"data gates passed ({len(report.checks)} checks; {reports_dir / Path(DataReport.FILE).name})")
    return report
