"""`python -m pipeline.monitor` against a live release started from a trained artifact, with real traffic.

The release runs as it ships (`python -m sentiment serve`, two Granian workers, multiprocess metrics).
Each test marks its own window start, so what earlier tests sent is not judged again.
"""

import json
import os
import shutil
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest
from traffic import SANITY, other_distribution, send

from pipeline.environments import processes

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def artifacts(tmp_path, trained_dir):
    """An artifacts directory whose candidate is the served model (where the monitor finds the profile)."""
    shutil.copytree(trained_dir, tmp_path / "candidate")
    return tmp_path


def monitor(artifacts: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARTIFACTS_DIR": str(artifacts)}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.monitor", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )


def report(artifacts: Path) -> dict:
    return json.loads((artifacts / "reports" / "monitor.json").read_text())


def test_sanity_set_traffic_is_healthy(release, artifacts):
    assert monitor(artifacts, "--url", release, "--mark").returncode == 0
    send(release, SANITY * 3)
    out = monitor(artifacts, "--url", release)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "DRIFT" not in out.stdout and "BREACH" not in out.stdout
    found = report(artifacts)
    assert found["healthy"] and found["texts"] == 3 * len(SANITY) and found["window_start"]
    assert {c["name"] for c in found["checks"]} >= {"drift.oov_share", "drift.score", "health.p99_seconds"}
    assert all(c["value"] != "n/a" for c in found["checks"] if c["name"].startswith("drift."))
    assert 'failures="0"' in (artifacts / "reports" / "monitor.xml").read_text()


def test_other_languages_log_lines_and_numbers_are_drift_naming_the_features(release, artifacts):
    assert monitor(artifacts, "--url", release, "--mark").returncode == 0
    send(release, other_distribution(300))
    out = monitor(artifacts, "--url", release)
    assert out.returncode == 1, out.stdout + out.stderr
    drift_lines = [line for line in out.stdout.splitlines() if line.startswith("DRIFT ")]
    named = {line.split()[1] for line in drift_lines}
    assert {"oov_share", "text_tokens", "score"} <= named, out.stdout
    assert "BREACH" not in out.stdout
    found = report(artifacts)
    assert not found["healthy"] and set(found["drift"]) == {f"drift.{n}" for n in named} and found["texts"] == 300
    assert 'failures="0"' not in (artifacts / "reports" / "monitor.xml").read_text()


def test_advance_starts_the_next_window_so_the_drift_is_not_judged_twice(release, artifacts):
    assert monitor(artifacts, "--url", release, "--mark").returncode == 0
    send(release, other_distribution(120))
    assert monitor(artifacts, "--url", release, "--advance").returncode == 1
    send(release, SANITY)  # 156 texts: the new window holds only these
    out = monitor(artifacts, "--url", release)
    assert out.returncode == 0, out.stdout
    assert report(artifacts)["texts"] == len(SANITY)


def test_latency_and_model_age_over_their_limits_are_breaches(release, artifacts, tmp_path):
    strict = (REPO / "quality_gates" / "monitor.toml").read_text()
    strict = strict.replace("[health.p99_seconds]\nmax = 0.25", "[health.p99_seconds]\nmax = 0.000001")
    strict = strict.replace("[health.model_age_days]\nmax = 90", "[health.model_age_days]\nmax = 0.0")
    config = tmp_path / "strict.toml"
    config.write_text(strict)
    assert monitor(artifacts, "--url", release, "--mark").returncode == 0
    send(release, SANITY)
    out = monitor(artifacts, "--url", release, "--config", str(config))
    assert out.returncode == 1
    breaches = {line.split()[1] for line in out.stdout.splitlines() if line.startswith("BREACH ")}
    assert breaches == {"p99_seconds", "model_age_days"}, out.stdout
    assert set(report(artifacts)["breaches"]) == {"health.p99_seconds", "health.model_age_days"}


def test_bad_setup_exits_2_with_one_line(release, artifacts, tmp_path):
    closed = f"http://127.0.0.1:{processes.free_port()}"
    out = monitor(artifacts, "--url", closed)
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0 and "cannot read" in out.stderr
    other = tmp_path / "profile.json"
    profile = json.loads((artifacts / "candidate" / "profile.json").read_text())
    other.write_text(json.dumps({**profile, "model_version": "0123456789ab"}))
    out = monitor(artifacts, "--url", release, "--profile", str(other))
    assert out.returncode == 2 and "not a schema-1 profile of" in out.stderr
    other.write_text(json.dumps({**profile, "features": {}}))  # a broken profile of the right version
    out = monitor(artifacts, "--url", release, "--profile", str(other))
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0 and "Traceback" not in out.stderr
    out = monitor(tmp_path / "empty", "--url", release, "--profile", str(tmp_path / "missing.json"))
    assert out.returncode == 2 and "cannot read the profile" in out.stderr


def test_a_release_answering_5xx_is_a_breach_naming_its_error_rate(failing_release, artifacts):
    assert monitor(artifacts, "--url", failing_release, "--mark").returncode == 0
    failed = 0
    for text in SANITY:
        try:
            send(failing_release, [text])
        except urllib.error.HTTPError as error:
            assert error.code == 500
            failed += 1
    assert failed, "the fault answered no 500"
    out = monitor(artifacts, "--url", failing_release)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "BREACH error_rate" in out.stdout and "DRIFT" not in out.stdout
    assert report(artifacts)["breaches"] == ["health.error_rate"]
