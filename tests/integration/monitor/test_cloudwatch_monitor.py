"""`python -m pipeline.monitor` in an AWS environment judges the release from CloudWatch, against a real
moto_server: metrics are put as CloudWatch extracts them from the service's EMF lines (sentiment.emf's
own lines, turned into put_metric_data calls), with the limits of quality_gates/monitor.toml.

A healthy window passes (0), a drifted or breached one exits 1 naming the check, and a window
without the release's metrics, or with its histogram lines lost, fails closed (2)."""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from pipeline.environments import emulator as localaws
from pipeline.release import cloudwatch_judge, cloudwatch_window, progressive
from sentiment import monitoring
from sentiment.emf import Recorder
from sentiment.monitoring import TextFeatures

REPO = Path(__file__).resolve().parents[3]
VERSION = "0123456789ab"
TIMEOUT_S = 180


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    state = tmp_path_factory.mktemp("localaws")
    server = localaws.up(state)
    yield localaws.endpoint_of(server)
    localaws.down(state)


def population(rng: random.Random, n: int, long_texts: float = 0.0) -> list[tuple[TextFeatures, float]]:
    """n texts like the held-out reviews (a share of them documents far longer), with their scores."""
    out = []
    for _ in range(n):
        chars = rng.randint(1000, 4000) if rng.random() < long_texts else rng.randint(30, 300)
        tokens = max(1, chars // 6)
        out.append((TextFeatures(chars, tokens, rng.choice((0.0, 0.05, 0.08, 0.12))), rng.betavariate(2.0, 1.4)))
    return out


def profile_of(texts: list[tuple[TextFeatures, float]]) -> dict:
    columns = {
        "text_chars": [f.chars for f, _ in texts],
        "text_tokens": [f.tokens for f, _ in texts],
        "oov_share": [f.oov_share for f, _ in texts],
        "score": [s for _, s in texts],
    }
    return {
        "schema": monitoring.PROFILE_SCHEMA,
        "model_version": VERSION,
        "positive_share": sum(s >= 0.5 for _, s in texts) / len(texts),
        "features": {
            name: {
                "edges": list(edges),
                "counts": monitoring.bucket_counts(columns[name], edges),
                "mean": sum(columns[name]) / len(texts),
            }
            for name, edges in monitoring.FEATURE_EDGES.items()
        },
    }


def emf_lines(
    service: str, texts: list[tuple[TextFeatures, float]], server_errors: int = 0, version: str = VERSION
) -> list[str]:
    """The lines one worker writes for an interval in which it answered `texts` one request each."""
    recorder = Recorder(service, version, model_created=time.time() - 5 * 86400)
    for features, score in texts:
        recorder.request("/predict", 200, 0.004)
        recorder.scored([features], [{"score": score, "label": "positive" if score >= 0.5 else "negative"}])
    for _ in range(server_errors):
        recorder.request("/predict", 500, 0.004)
    return recorder.lines()


def put_as_cloudwatch_extracts(endpoint: str, lines: list[str]) -> None:
    client = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="eu-west-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    localaws.put_as_extracted(client, lines)


def monitor(endpoint: str, tmp_path: Path, service: str, profile: dict, *args: str):
    (tmp_path / "profile.json").write_text(json.dumps(profile))
    env = {k: v for k, v in os.environ.items() if k not in localaws.FOREIGN_CREDENTIALS}
    env.update(localaws.environment("eu-west-1", endpoint))
    env.update(PROJECT_ENV="dev", EMF_SERVICE=service, ARTIFACTS_DIR=str(tmp_path / "artifacts"))
    command = [sys.executable, "-m", "pipeline.monitor", "--profile", str(tmp_path / "profile.json"), "--since", "15m"]
    return subprocess.run([*command, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)


def service_name() -> str:
    return f"sentiment-api-{uuid.uuid4().hex[:8]}"


def test_a_healthy_window_passes(emulator, tmp_path):
    rng, service = random.Random(1), service_name()
    reference = population(rng, 2000)
    put_as_cloudwatch_extracts(emulator, emf_lines(service, population(rng, 300)))
    result = monitor(emulator, tmp_path, service, profile_of(reference))
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "artifacts" / "reports" / "monitor.json").read_text())
    assert report["healthy"] and report["model_version"] == VERSION and report["source"] == f"cloudwatch:{service}"
    assert report["texts"] == 300 and report["requests"] == 300
    judged = {c["name"]: c["value"] for c in report["checks"]}
    assert all(isinstance(judged[f"drift.{name}"], float | int) for name in ("score", "text_chars", "oov_share"))
    assert judged["health.model_age_days"] == pytest.approx(5, abs=0.1)


def test_drift_and_a_breach_exit_1_naming_them(emulator, tmp_path):
    rng, service = random.Random(2), service_name()
    reference = population(rng, 2000)
    put_as_cloudwatch_extracts(emulator, emf_lines(service, population(rng, 300, long_texts=0.5), server_errors=30))
    result = monitor(emulator, tmp_path, service, profile_of(reference))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "DRIFT text_chars" in result.stdout and "BREACH error_rate" in result.stdout


def test_no_metrics_fail_closed(emulator, tmp_path):
    result = monitor(emulator, tmp_path, service_name(), profile_of(population(random.Random(3), 200)))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "nothing to judge" in result.stderr and "no' model version" not in result.stderr


def test_lost_histogram_lines_fail_closed(emulator, tmp_path):
    rng, service = random.Random(4), service_name()
    lines = [line for line in emf_lines(service, population(rng, 300)) if "UpperBound" not in line]
    summary = json.loads(lines[0])
    lines[0] = json.dumps({**summary, "_aws": {**summary["_aws"], "CloudWatchMetrics": [{
        **summary["_aws"]["CloudWatchMetrics"][0],
        "Metrics": [m for m in summary["_aws"]["CloudWatchMetrics"][0]["Metrics"] if m["Name"] != "ScoreSum"],
    }]}})  # fmt: skip
    put_as_cloudwatch_extracts(emulator, lines)
    result = monitor(emulator, tmp_path, service, profile_of(population(rng, 2000)))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no datapoints of ScoreSum" in result.stderr


def test_two_releases_in_the_window_need_a_version(emulator, tmp_path):
    rng, service = random.Random(5), service_name()
    put_as_cloudwatch_extracts(emulator, emf_lines(service, population(rng, 300)))
    other = [line.replace(VERSION, "b" * 12) for line in emf_lines(service, population(rng, 50))]
    put_as_cloudwatch_extracts(emulator, other)
    profile = profile_of(population(rng, 2000))
    assert monitor(emulator, tmp_path, service, profile).returncode == 2
    result = monitor(emulator, tmp_path, service, profile, "--version", VERSION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_window_holds_the_datapoints_of_its_last_second(emulator):
    """CloudWatch drops the fraction of EndTime: a window ending 0.05 s after a datapoint of the same second
    still holds it (ending at the fraction left it out, and the monitor failed on fresh metrics)."""
    service, second = service_name(), math.floor(time.time()) - 5
    recorder = Recorder(service, VERSION, clock=lambda: second + 0.9)
    recorder.request("/predict", 200, 0.004)
    put_as_cloudwatch_extracts(emulator, recorder.lines())
    client = boto3.client("cloudwatch", endpoint_url=emulator, region_name="eu-west-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    window = cloudwatch_window.read(client, service, 900, now=second + 0.95)
    assert window.samples[("sentiment_requests_total", (("status", "other"),))] == 1


def test_the_canary_judges_each_release_model_behaviour_from_its_emf_metrics(emulator):
    """What a scale-out step reads of both releases' EMF metrics (by ModelVersion), judged with the local limits:
    a candidate that calls every text positive breaches; the same behaviour passes; no metrics is inconclusive."""
    rng, service, candidate_version = random.Random(6), service_name(), "fedcba987654"
    texts = population(rng, 200)
    put_as_cloudwatch_extracts(emulator, emf_lines(service, texts))
    put_as_cloudwatch_extracts(emulator, emf_lines(service, [(f, 0.97) for f, _ in texts], version=candidate_version))
    client = boto3.client("cloudwatch", endpoint_url=emulator, region_name="eu-west-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    end = datetime.now(UTC) + timedelta(seconds=60)
    start = end - timedelta(minutes=5)
    champion = cloudwatch_judge.behaviour(client, service, VERSION, start, end)
    candidate = cloudwatch_judge.behaviour(client, service, candidate_version, start, end)
    assert champion["predictions"] == candidate["predictions"] == 200
    assert champion["positive_share"] == sum(s >= 0.5 for _, s in texts) / 200 and candidate["positive_share"] == 1.0

    limits = progressive.load_config(REPO / "quality_gates" / "delivery.toml").limits
    balancer = cloudwatch_judge.summarize({"requests": [200], "errors": [], "latency": [0.04]})

    def verdict(behaviours):
        return cloudwatch_judge.judge("10%", balancer, balancer, {}, limits, 20, behaviours)

    flipped = verdict((candidate, champion))
    assert flipped.outcome == "breach" and flipped.reason.startswith("10%.positive_share_delta = 0.")
    assert verdict((champion, champion)).outcome == "pass"
    lost = cloudwatch_judge.behaviour(client, service, "ffffffffffff", start, end)
    inconclusive = verdict((lost, champion))
    assert inconclusive.outcome == "inconclusive" and "no requests of model version ffffffffffff" in inconclusive.reason
