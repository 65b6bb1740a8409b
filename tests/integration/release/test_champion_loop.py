"""The champion loop against a real emulator: the gate compares every candidate with the registry's
champion by default, promotions are atomic and recorded, and the registry CLI diffs two versions."""

import json
import multiprocessing
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pipeline.model_registry import ModelRegistryWriter, PromotionConflict
from pipeline.release import promotion
from pipeline.stages.publish import publishable_files
from sentiment.model_registry import CHAMPION_KEY, version_prefix

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]
QUALITY_GATES = REPO / "quality_gates"


def publish(registry, model_dir, reports_dir, thresholds=QUALITY_GATES / "thresholds.toml"):
    files = publishable_files(model_dir, reports_dir, thresholds, QUALITY_GATES)
    return registry.publish(files.files, files.metadata, progress=lambda m: None)[0]["version"]


def gate(env, cwd, *args):
    return subprocess.run(
        [sys.executable, "-m", "pipeline.gate", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )


@pytest.fixture
def gate_env(registry, clean_env, tmp_path):
    return {
        **clean_env,
        "AWS_ENDPOINT_URL": registry.s3.meta.endpoint_url,
        "MODEL_BUCKET_NAME": registry.bucket,
        "ARTIFACTS_DIR": str(tmp_path / "artifacts"),
    }


def test_the_gate_blocks_a_candidate_that_loses_to_the_serving_champion(
    registry, blessed, zeroed_dir, relaxed_thresholds, gate_env, tmp_path
):
    champion = publish(registry, *blessed)
    registry.promote(champion, {"kind": "release"})
    reports = tmp_path / "reports"
    zeroed_dir = shutil.copytree(zeroed_dir, tmp_path / "zeroed")
    out = gate(
        gate_env, REPO, "--model", str(zeroed_dir), "--reports", str(reports), "--thresholds", str(relaxed_thresholds)
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "gate: FAILED champion.test_accuracy_drop" in out.stdout
    assert f"champion {champion} fetched" in out.stdout
    report = json.loads((reports / "gate.json").read_text())
    assert report["champion_version"] == champion and "champion.test_accuracy_drop" in report["failed"]
    row = report["champion_comparison"]["test.accuracy"]
    assert row["delta"] == pytest.approx(row["candidate"] - row["champion"]) and row["allowed_drop"] == 0.01
    cases = {c.get("name"): c for c in ET.parse(reports / "gate.xml").getroot().iter("testcase")}
    assert cases["test_accuracy_drop"].find("failure") is not None
    assert "champion" in cases["test_accuracy_drop"].find("failure").get("message")


def test_no_bucket_or_no_champion_yet_is_said_and_the_champion_checks_are_skipped(
    registry, blessed, gate_env, tmp_path
):
    model = shutil.copytree(blessed[0], tmp_path / "candidate")  # the gate rewrites the blessing beside it
    for bucket in ("no-such-bucket-yet", registry.bucket):  # before provision; provisioned, nothing promoted
        reports = tmp_path / bucket
        out = gate({**gate_env, "MODEL_BUCKET_NAME": bucket}, REPO, "--model", str(model), "--reports", str(reports))
        assert out.returncode == 0, out.stdout + out.stderr
        assert "no champion yet" in out.stdout
        report = json.loads((reports / "gate.json").read_text())
        assert report["champion_version"] is None
        assert not any(c["name"].startswith("champion.") for c in report["checks"])


def test_a_registry_that_exists_but_cannot_be_read_stops_the_gate(registry, blessed, gate_env, tmp_path):
    model = shutil.copytree(blessed[0], tmp_path / "candidate")  # the gate rewrites the blessing beside it
    champion = publish(registry, *blessed)
    registry.promote(champion)
    # The champion's files no longer match the manifest: the comparison cannot be trusted.
    registry.s3.put_object(Bucket=registry.bucket, Key=version_prefix(champion) + "model.tflite", Body=b"tampered")
    out = gate(gate_env, REPO, "--model", str(model), "--reports", str(tmp_path / "r1"))
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0, out.stderr
    assert "cannot compare with the champion" in out.stderr and "--no-champion" in out.stderr
    # Access denied (moto enforces bucket policies): the bucket exists, but the gate may not read it.
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{registry.bucket}/{CHAMPION_KEY}"}]}  # fmt: skip
    registry.s3.put_bucket_policy(Bucket=registry.bucket, Policy=json.dumps(deny))
    out = gate(gate_env, REPO, "--model", str(model), "--reports", str(tmp_path / "r2"))
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0, out.stderr
    assert not (model / "blessing.json").exists(), "no blessing without the comparison"
    skipped = gate(gate_env, REPO, "--model", str(model), "--reports", str(tmp_path / "r3"), "--no-champion")
    assert skipped.returncode == 0 and "NOT compared with the serving champion" in skipped.stdout


def test_of_two_promotions_racing_exactly_one_wins(registry, blessed):
    version = publish(registry, *blessed)
    first = ModelRegistryWriter(registry.s3, registry.bucket)
    second = ModelRegistryWriter(registry.s3, registry.bucket)
    registry.promote(version, {"racer": "earlier"})
    read_before = first._champion_and_etag()
    second.promote(version, {"racer": "second"})
    first._champion_and_etag = lambda: read_before  # first read the champion before second wrote it
    with pytest.raises(PromotionConflict, match="another promotion changed the champion"):
        first.promote(version, {"racer": "first"})
    assert registry.champion()["racer"] == "second"
    assert [e["racer"] for e in registry.history()] == ["earlier", "second"]


def _racer(endpoint, bucket, version, name, start, results):
    import os

    os.environ["AWS_ENDPOINT_URL"] = endpoint
    registry = ModelRegistryWriter.open(bucket, "eu-west-1")
    start.wait()
    try:
        registry.promote(version, {"racer": name})
        results.put((name, "won"))
    except PromotionConflict:
        results.put((name, "conflict"))


def test_promotions_racing_from_several_processes_leave_one_consistent_history(registry, blessed):
    version = publish(registry, *blessed)
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    racers = [
        context.Process(
            target=_racer, args=(registry.s3.meta.endpoint_url, registry.bucket, version, f"r{i}", start, results)
        )
        for i in range(6)
    ]
    for racer in racers:
        racer.start()
    start.set()
    for racer in racers:
        racer.join(60)
    outcomes = dict(results.get(timeout=10) for _ in racers)
    winners = [name for name, outcome in outcomes.items() if outcome == "won"]
    history = registry.history()
    assert sorted(e["racer"] for e in history) == sorted(winners), "every win is recorded once, no loser is"
    assert registry.champion()["racer"] == history[-1]["racer"]
    assert [e["previous"] for e in history[1:]] == [e["version"] for e in history[:-1]]


def test_promotions_record_who_when_which_build_and_the_gate_report(registry, blessed, settings, clean_env, tmp_path):
    version = publish(registry, *blessed)
    jenkins = settings.model_copy(update={"approver": "alice", "build_url": "https://ci.example/job/api/7/"})
    promoted = registry.promote(version, {"kind": "release", **promotion.who(jenkins)})
    manifest = registry.manifest(version)
    assert promoted["promoted_by"] == "alice" and promoted["build_url"] == "https://ci.example/job/api/7/"
    assert promoted["gate_report_sha256"] == manifest["files"]["gate.json"]["sha256"]
    assert promoted["previous"] is None and promoted["promoted"]
    fallback = settings.model_copy(update={"approver": None, "build_user_id": "bob"})
    assert promotion.who(fallback)["promoted_by"] == "bob"
    env = {**clean_env, "AWS_ENDPOINT_URL": registry.s3.meta.endpoint_url, "MODEL_BUCKET_NAME": registry.bucket}
    shown = subprocess.run(
        [sys.executable, "-m", "pipeline.models", "history"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert shown.returncode == 0 and "alice" in shown.stdout and "https://ci.example/job/api/7/" in shown.stdout


def test_models_diff_shows_two_versions_side_by_side(
    registry, blessed, zeroed_dir, relaxed_thresholds, clean_env, tmp_path
):
    from pipeline.stages.gate import main as gate_main

    good = publish(registry, *blessed)
    reports = tmp_path / "zeroed-reports"
    zeroed_dir = shutil.copytree(zeroed_dir, tmp_path / "zeroed")
    flags = ["--model", str(zeroed_dir), "--reports", str(reports), "--thresholds", str(relaxed_thresholds)]
    assert gate_main([*flags, "--no-champion"]) == 0
    bad = publish(registry, zeroed_dir, reports, relaxed_thresholds)
    env = {**clean_env, "AWS_ENDPOINT_URL": registry.s3.meta.endpoint_url, "MODEL_BUCKET_NAME": registry.bucket}
    diff = subprocess.run(
        [sys.executable, "-m", "pipeline.models", "diff", good, bad],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert diff.returncode == 0, diff.stderr
    lines = {ln.split()[0] + " " + ln.split()[1]: ln for ln in diff.stdout.splitlines()[1:] if len(ln.split()) > 1}
    accuracy = registry.manifest(good)["metrics"]["test"]["accuracy"]
    assert lines["test accuracy"].split()[2:] == [str(accuracy), "-"], "A's value; B (built without metrics) has none"
    assert "data fingerprint" in diff.stdout and "model.tflite (MB)" in diff.stdout
