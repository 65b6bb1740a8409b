"""The data gates: the built-in corpus passes; a dataset with injected defects is stopped, one line per check."""

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pipeline.commands.data import main as data_main
from pipeline.errors import run
from pipeline.ml import data, data_checks
from pipeline.ml.data import Example
from pipeline.ml.datasets import Dataset
from pipeline.ml.gate_config import load_thresholds

REPO = Path(__file__).resolve().parents[4]
THRESHOLDS = REPO / "quality_gates" / "data.toml"
SAMPLE = 3000  # rows of the built-in corpus the defects are injected into (all of it takes seconds)


def jsonl(examples, path):
    path.write_text(
        "".join(json.dumps({"text": e.text, "label": ["negative", "positive"][e.label]}) + "\n" for e in examples)
    )
    return path


def check(path, tmp_path, *extra):
    argv = ["check", "--dataset", str(path), "--thresholds", str(THRESHOLDS), "--reports", str(tmp_path / "reports")]
    return run("data", data_main, [*argv, *extra])


def test_the_builtin_corpus_passes_every_data_gate(builtin_dataset, tmp_path):
    report = data_checks.run(builtin_dataset, load_thresholds(THRESHOLDS), tmp_path)
    assert report.passed, report.failed
    assert report.dataset["fingerprint"] == builtin_dataset.splits.fingerprint
    assert report.dataset["split"] == data.SPLIT_DEFINITION
    assert report.champion_version is None and "drift.label_share" not in report.measurements
    assert report.measurements["duplicates.share"] == pytest.approx(57 / 12808)


def test_injected_defects_are_stopped_with_one_line_per_failed_check(builtin_dataset, tmp_path, capsys):
    rows = list(builtin_dataset.examples[:SAMPLE])
    test_rows = [ex for ex in rows if data.split_of(ex.text) == "test"]
    defects = [
        *(Example(ex.text, 1 - ex.label) for ex in rows[:100]),  # duplicated rows with flipped labels
        *(Example(ex.text + " !!", ex.label) for ex in test_rows[:100]),  # test rows copied (near) into train
        *(Example("", ex.label) for ex in rows[100:200]),  # an empty text column
    ]
    path = jsonl(rows + defects, tmp_path / "defects.jsonl")
    assert check(path, tmp_path) == 1
    out, err = capsys.readouterr()
    assert err.startswith("data: error: the data gates stopped it: ") and err.count("\n") == 1
    failed = dict(re.findall(r"^data: FAILED (\S+) = (\S+) \(required", out, re.M))
    assert {"conflicts.share", "leakage.near_share", "text.empty_share"} <= set(failed), out
    assert float(failed["text.empty_share"]) == pytest.approx(100 / len(rows + defects), abs=1e-3)
    assert re.search(r"^data: FAILED conflicts\.share = .*100 rows, e\.g\. '", out, re.M)
    report = json.loads((tmp_path / "reports" / "data.json").read_text())
    assert not report["passed"] and set(report["failed"]) == set(failed)
    suite = ET.parse(tmp_path / "reports" / "data.xml").getroot().find("testsuite")
    assert int(suite.get("failures")) == len(failed)


def test_the_same_rows_without_the_defects_pass(builtin_dataset, tmp_path, capsys):
    assert check(jsonl(builtin_dataset.examples[:SAMPLE], tmp_path / "clean.jsonl"), tmp_path) == 0
    assert "data gates passed" in capsys.readouterr().out


def test_a_bad_row_is_exit_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "fine", "label": "positive"}\n{"text": "x", "label": "neutral"}\n')
    assert check(path, tmp_path) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith(f"data: error: dataset: {path}: row 2: column `label`: 'neutral' is not")
        and err.count("\n") == 1
    )


def test_label_drift_against_the_champion_data():
    ours = {"sizes": {"train": 80, "test": 20}, "positive_shares": {"train": 0.5, "test": 0.5}}
    theirs = {"sizes": {"train": 8, "test": 2}, "positive_shares": {"train": 0.7, "test": 0.7}}
    assert data_checks.label_drift(ours, theirs) == pytest.approx(0.2)
    assert data_checks.label_drift(ours, {"fingerprint": "old, no shares"}) is None
    assert data_checks.label_drift(ours, None) is None


def test_drift_is_judged_only_with_a_champion_and_a_misspelt_threshold_is_an_error(tmp_path):
    dataset = Dataset(
        tuple(Example(f"review number {i} is {'good' if i % 2 else 'bad'}", i % 2) for i in range(400)), {"source": "x"}
    )
    champion = {"version": "abc", "data": {"sizes": {"train": 10}, "positive_shares": {"train": 0.9}}}
    thresholds = load_thresholds(THRESHOLDS)
    report = data_checks.run(dataset, thresholds, tmp_path, champion)
    assert report.champion_version == "abc" and "drift.label_share" in report.failed
    assert report.measurements["drift.label_share"] == pytest.approx(0.4, abs=0.01)
    typo = {**thresholds, "text.emtpy_share": thresholds["text.empty_share"]}
    with pytest.raises(ValueError, match=r"text\.emtpy_share"):
        data_checks.run(dataset, typo, tmp_path)


def test_near_key_meets_what_normalise_keeps_apart():
    assert data.normalise("Great film!!") != data.normalise("great film.")
    assert data_checks.near_key(data.normalise("Great film!!")) == data_checks.near_key(data.normalise("great film."))


def test_train_stops_before_fitting_with_one_line_per_failed_check(builtin_dataset, tmp_path, monkeypatch, capsys):
    from pipeline.settings import get_settings
    from pipeline.stages.train import main as train_main

    rows = list(builtin_dataset.examples[:SAMPLE])
    path = jsonl(rows + [Example("", 1)] * 100, tmp_path / "empty-texts.jsonl")
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    get_settings.cache_clear()
    try:
        assert run("train", train_main, ["--dataset", str(path)]) == 1
    finally:
        get_settings.cache_clear()
    out, err = capsys.readouterr()
    assert re.findall(r"^train: FAILED (\S+)", out, re.M) == ["text.empty_share"]
    assert (
        err
        == "train: error: the data gates stopped it: text.empty_share failed (report: "
        + str(tmp_path / "artifacts" / "reports")
        + ")\n"
    )
    assert "architecture" not in out and not (tmp_path / "artifacts" / "candidate").exists()
