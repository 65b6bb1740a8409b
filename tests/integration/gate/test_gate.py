"""The quality gate blocks what it must and blesses what it should, through its command line."""

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pipeline.ml import blessing
from pipeline.records import Blessing
from pipeline.stages.gate import main as gate_main
from sentiment import artifact

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
QUALITY_GATES = REPO / "quality_gates"
THRESHOLDS = QUALITY_GATES / "thresholds.toml"


def gate(model_dir, reports, *extra, thresholds=THRESHOLDS):
    argv = [
        "--model",
        str(model_dir),
        "--reports",
        str(reports),
        "--thresholds",
        str(thresholds),
        "--quality-gates",
        str(QUALITY_GATES),
        *extra,
        *([] if "--baseline" in extra else ["--no-champion"]),  # the registry's champion: tests/registry
    ]
    return gate_main(argv)


def junit(reports):
    suite = ET.parse(reports / "gate.xml").getroot().find("testsuite")
    failed = {tc.get("name") for tc in suite.iter("testcase") if tc.find("failure") is not None}
    return int(suite.get("tests")), int(suite.get("failures")), failed


def with_thresholds(tmp_path, edit):
    """A copy of the real thresholds file with some limits rewritten."""
    text = THRESHOLDS.read_text()
    path = tmp_path / "thresholds.toml"
    path.write_text(edit(text))
    return path


@pytest.fixture
def candidate(trained_dir, tmp_path):
    copy = tmp_path / "candidate"
    shutil.copytree(trained_dir, copy)
    return copy


def test_good_model_is_blessed_with_three_reports(candidate, tmp_path, capsys):
    reports = tmp_path / "reports"
    assert gate(candidate, reports) == 0
    report = json.loads((reports / "gate.json").read_text())
    assert report["passed"] and not report["failed"]
    tests, failures, _ = junit(reports)
    assert tests == len(report["checks"]) and failures == 0
    meta = artifact.verify(candidate)
    blessing.verify(candidate, meta["version"], THRESHOLDS, QUALITY_GATES)
    assert "PASSED" in capsys.readouterr().out


def test_an_unchanged_rerun_keeps_the_blessing_and_a_changed_input_judges_again(
    candidate, zeroed_dir, tmp_path, capsys
):
    reports = tmp_path / "reports"
    assert gate(candidate, reports) == 0
    judged, report = (candidate / Blessing.NAME).read_text(), (reports / "gate.json").read_text()
    capsys.readouterr()
    assert gate(candidate, reports) == 0
    out = capsys.readouterr().out
    assert "inputs unchanged: model" in out and "stays blessed" in out and "PASSED" not in out
    assert (candidate / Blessing.NAME).read_text() == judged and (reports / "gate.json").read_text() == report

    def judged_again(*extra, thresholds=THRESHOLDS) -> bool:
        assert gate(candidate, reports, *extra, thresholds=thresholds) == 0
        return "PASSED" in capsys.readouterr().out

    assert judged_again("--force")
    assert not judged_again("--baseline", str(candidate)), "its first release made it the champion: no change"
    assert judged_again(thresholds=with_thresholds(tmp_path, lambda t: t + "\n# reviewed\n"))
    assert judged_again()  # back to the real thresholds: the blessing names the copy's hash
    (reports / "gate.json").write_text((reports / "gate.json").read_text() + " ")
    assert judged_again(), "a report that is not the one the blessing names is not trusted"
    assert not judged_again()
    assert judged_again("--baseline", str(zeroed_dir)), "another champion judges again"


def test_impossible_threshold_blocks_and_removes_the_blessing(candidate, tmp_path, capsys):
    assert gate(candidate, tmp_path / "ok") == 0
    strict = with_thresholds(
        tmp_path, lambda t: t.replace("[test.accuracy]\nmin = 0.78", "[test.accuracy]\nmin = 0.999")
    )
    reports = tmp_path / "strict"
    assert gate(candidate, reports, thresholds=strict) == 1
    out = capsys.readouterr().out
    assert re.search(r"^gate: FAILED test\.accuracy = 0\.7\d+ \(required >= 0\.999\)", out, re.M)
    tests, failures, failed = junit(reports)
    assert failed == {"accuracy"} and failures == 1 and tests > 10
    assert not (candidate / Blessing.NAME).exists()


def test_zeroed_weights_are_blocked_with_the_checks_named(zeroed_dir, tmp_path, capsys):
    assert gate(zeroed_dir, tmp_path) == 1
    failed = set(json.loads((tmp_path / "gate.json").read_text())["failed"])
    assert {"test.accuracy", "test.roc_auc", "sanity.accuracy", "sanity.roc_auc", "slice.plain"} <= failed
    out = capsys.readouterr().out
    assert "gate: FAILED sanity.roc_auc" in out
    assert not (zeroed_dir / Blessing.NAME).exists()


def test_regression_against_a_better_champion_is_blocked(zeroed_dir, trained_dir, relaxed_thresholds, tmp_path):
    relaxed = relaxed_thresholds
    assert gate(zeroed_dir, tmp_path / "alone", thresholds=relaxed) == 0
    assert gate(zeroed_dir, tmp_path / "vs", "--baseline", str(trained_dir), thresholds=relaxed) == 1
    report = json.loads((tmp_path / "vs" / "gate.json").read_text())
    assert set(report["failed"]) == {
        "champion.test_accuracy_drop",
        "champion.test_roc_auc_drop",
        "champion.sanity_accuracy_drop",
    }


def test_same_model_as_champion_passes(candidate, trained_dir, tmp_path):
    assert gate(candidate, tmp_path, "--baseline", str(trained_dir)) == 0
    report = json.loads((tmp_path / "gate.json").read_text())
    assert report["champion_version"] == report["model_version"]
    assert report["measurements"]["champion.test_accuracy_drop"] == 0


BAD_THRESHOLDS = [
    ("[test.accuracy\nmin = 1", "not valid TOML"),
    ("[test.accuracy]\nmin = 0.5\n", "needs a one-line `reason`"),
    ('[test.accuracy]\nmin = "high"\nreason = "x"\n', "must be a number"),
    ('[test.accuracy]\nmin = 0.5\nmax = 0.9\nreason = "x"\n', "exactly one of"),
]


@pytest.mark.parametrize(("content", "message"), BAD_THRESHOLDS)
def test_malformed_thresholds_exit_2_with_one_line(candidate, tmp_path, capsys, content, message):
    from pipeline.errors import run

    path = tmp_path / "t.toml"
    path.write_text(content)
    assert run("gate", lambda argv: gate(candidate, tmp_path, thresholds=path)) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.count("\n") == 0


def test_missing_artifact_and_corrupt_sanity_set_exit_2(tmp_path, capsys):
    from pipeline.errors import run
    from pipeline.stages.gate import main

    assert run("gate", main, ["--model", str(tmp_path / "none"), "--reports", str(tmp_path)]) == 2
    assert "no model artifact" in capsys.readouterr().err
    broken = tmp_path / "qg"
    shutil.copytree(QUALITY_GATES, broken)
    with (broken / "sanity_set.jsonl").open("a") as fh:
        fh.write('{"text": "fine", "label": "meh", "tags": ["plain"]}\n')
    argv = ["--model", str(tmp_path), "--quality-gates", str(broken), "--reports", str(tmp_path)]
    assert run("gate", main, argv) == 2
    assert "`label` must be one of" in capsys.readouterr().err


def test_unknown_threshold_name_is_refused(candidate, tmp_path, capsys):
    from pipeline.errors import run

    typo = with_thresholds(tmp_path, lambda t: t + '\n[test.acurracy]\nmin = 0.5\nreason = "typo"\n')
    assert run("gate", lambda argv: gate(candidate, tmp_path, thresholds=typo)) == 2
    assert "test.acurracy" in capsys.readouterr().err


def test_smoke_settings_are_outside_the_blessing_and_what_the_gate_judged_is_inside(blessed, tmp_path):
    model, _ = blessed
    version = json.loads((model / artifact.METADATA_FILE).read_text())["version"]
    gates = shutil.copytree(QUALITY_GATES, tmp_path / "quality_gates")
    smoke = gates / "smoke.toml"
    smoke.write_text(smoke.read_text().replace("max = 250.0", "max = 900.0"))
    with (gates / "canaries.jsonl").open("a") as canaries:
        canaries.write('{"text": "a new canary", "label": "positive"}\n')
    blessing.verify(model, version, gates / "thresholds.toml", gates)  # still blessed
    thresholds = gates / "thresholds.toml"
    thresholds.write_text(thresholds.read_text().replace("min = 0.78", "min = 0.77"))
    with pytest.raises(blessing.BlessingError, match="other thresholds"):
        blessing.verify(model, version, thresholds, gates)
    with (gates / "sanity_set.jsonl").open("a") as sanity:
        sanity.write('{"text": "fine", "label": "positive", "tags": ["short"]}\n')
    with pytest.raises(blessing.BlessingError, match="sanity set"):
        blessing.verify(model, version, QUALITY_GATES / "thresholds.toml", gates)


def test_a_model_no_better_than_tfidf_logistic_regression_is_blocked(zeroed_dir, relaxed_thresholds, tmp_path, capsys):
    only_the_anchor = tmp_path / "anchor.toml"
    margin = "[anchor.tfidf_logreg_margin]\nmin = "
    only_the_anchor.write_text(relaxed_thresholds.read_text().replace(margin + "-1.0", margin + "0.0"))
    model = shutil.copytree(zeroed_dir, tmp_path / "zeroed")
    assert gate(model, tmp_path / "reports", thresholds=only_the_anchor) == 1
    assert json.loads((tmp_path / "reports" / "gate.json").read_text())["failed"] == ["anchor.tfidf_logreg_margin"]
    out = capsys.readouterr().out
    assert "gate: FAILED anchor.tfidf_logreg_margin" in out and "a simpler model is not better" in out
