"""Progressive delivery behind the local endpoint: traffic steps judged by both releases' /metrics.

Real releases (`python -m sentiment serve`), the real HAProxy endpoint and wrk load; the bad
releases are test builds with SENTIMENT_TEST_FAULT (sentiment.faults), which nothing shipped sets.
"""

import dataclasses
import html
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pipeline.environments import processes
from pipeline.environments.load_balancer import LoadBalancer
from pipeline.environments.local import LocalTraffic
from pipeline.errors import StageError
from pipeline.records import DeliveryReport
from pipeline.release import live_metrics, progressive
from pipeline.settings import PipelineSettings

ROOT = Path(__file__).resolve().parents[3]
needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="NOT TESTED: wrk is not installed (apt install wrk)")
needs_haproxy = pytest.mark.skipif(
    shutil.which("haproxy", path="/usr/sbin:/usr/bin") is None, reason="NOT TESTED: haproxy is not installed"
)
POST = """wrk.method = "POST"
wrk.body = '{"text": "a warm and funny film"}'
wrk.headers["Content-Type"] = "application/json"
"""


# --- the config and the arithmetic (fast) ---------------------------------------------------------


# --- real releases behind the real endpoint -------------------------------------------------------


def start_release(model_dir, tmp_path, name, fault=None):
    port = processes.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "SERVE_", "GUNICORN_", "SENTIMENT_"))}
    env |= {"MODEL_DIR": str(model_dir), "SERVE_WORKERS": "1"}
    if fault:
        env["SENTIMENT_TEST_FAULT"] = fault
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = processes.start_until_ready(
        processes.serve_command(f"127.0.0.1:{port}"), tmp_path / f"{name}.log",
        lambda: processes.http_ok(f"http://127.0.0.1:{port}/ready"), timeout_s=60, env=env,
    )  # fmt: skip
    return proc, port


@pytest.fixture
def endpoint(trained_dir, tmp_path):
    """(balancer, a_port, start) with release A serving all traffic; start(name, fault) adds a release."""
    started = []

    def start(name, fault=None):
        proc, port = start_release(trained_dir, tmp_path, name, fault)
        started.append(proc)
        return port

    start.started = started

    a_port = start("a")
    balancer = LoadBalancer(tmp_path / "endpoint", processes.free_port())
    balancer.state_dir.mkdir()
    try:
        balancer.up()
        balancer.switch_to(a_port)
        yield balancer, a_port, start
    finally:
        balancer.down()
        for proc in started:
            processes.stop_group(proc.pid)


def settings_for(tmp_path, hold_s):
    return PipelineSettings(
        artifacts_dir=tmp_path / "artifacts", quality_gates_dir=ROOT / "quality_gates", delivery_hold_s=hold_s
    )


def run_under_load(balancer, tmp_path, seconds, action):
    """wrk (16 connections of POST /predict) on the endpoint while `action` runs; (wrk output, requests)."""
    script = tmp_path / "post.lua"
    script.write_text(POST)
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "5s", "-s", str(script), f"{balancer.url}/predict"]
    load = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        outcome = action()
    finally:
        out, _ = load.communicate(timeout=60)
    print("\n" + out)
    return outcome, out, int(re.search(r"(\d+) requests in", out).group(1))


@pytest.mark.slow
@needs_wrk
@needs_haproxy
def test_a_good_release_goes_through_every_step_under_load_without_losing_a_request(endpoint, tmp_path):
    balancer, a_port, start = endpoint
    b_port = start("b")
    settings = settings_for(tmp_path, hold_s=2)
    rollout = progressive.rollout(settings, print)
    traffic = LocalTraffic(balancer, {"url": f"http://127.0.0.1:{a_port}", "model_version": "a"}, b_port)

    def release():
        rollout(traffic)
        traffic.finish()

    _, out, requests = run_under_load(balancer, tmp_path, 9, release)
    assert requests > 1000, "the load was not steady"
    assert "Socket errors" not in out and "Non-2xx or 3xx responses" not in out
    assert balancer.serving().port == b_port
    report = DeliveryReport.read_file(settings.reports_dir / "delivery.json")
    assert report.passed and [s["name"] for s in report.steps] == ["shadow", "10%", "50%", "100%"]
    ten = next(s for s in report.steps if s["name"] == "10%")["measurements"]
    assert ten["candidate"]["live_requests"] >= 20, "the 10% step saw too little traffic to judge anything"
    assert 0.03 < ten["candidate_live_share"] < 0.2
    assert report.steps[0]["measurements"]["shadow"]["disagreement"] == 0.0
    suite = ET.parse(settings.reports_dir / "delivery.xml").getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests")) >= 12
    page = (settings.reports_dir / "delivery.html").read_text()
    assert "PROMOTED" in page and all(f"<td>{name}</td>" in page for name in ("shadow", "10%", "50%", "100%"))
    for plot in ("delivery-errors.svg", "delivery-p99.svg", "delivery-positive.svg"):  # the time line
        assert f'src="{plot}"' in page and (settings.reports_dir / plot).stat().st_size > 1000


@pytest.mark.slow
@needs_wrk
@needs_haproxy
def test_a_release_answering_5xx_is_aborted_at_its_first_live_step(endpoint, tmp_path):
    balancer, a_port, start = endpoint
    bad_port = start("bad", fault="error_share:0.3")
    settings = settings_for(tmp_path, hold_s=4)
    rollout = progressive.rollout(settings, print)
    # The shadow step's replay would catch this fault before any live request; skip it to judge live traffic.
    rollout.config = dataclasses.replace(rollout.config, steps=[s for s in rollout.config.steps if not s.shadow])
    traffic = LocalTraffic(balancer, {"url": f"http://127.0.0.1:{a_port}", "model_version": "a"}, bad_port)
    before = progressive.scrape(f"http://127.0.0.1:{bad_port}")

    def release():
        with pytest.raises(StageError) as caught:
            rollout(traffic)
        return caught.value

    error, out, requests = run_under_load(balancer, tmp_path, 8, release)
    message = str(error)
    assert error.exit_code == 1 and "\n" not in message
    assert message.startswith("release aborted at step 10%: error_rate = "), message
    assert balancer.serving().port == a_port and balancer.slots()[traffic.candidate_slot].state == "MAINT"
    answered = progressive.summary(
        live_metrics.since(progressive.scrape(f"http://127.0.0.1:{bad_port}"), before).samples
    )["requests"]
    assert 0 < answered <= 0.15 * requests, f"the bad release answered {answered} of {requests}"
    report = json.loads((settings.reports_dir / "delivery.json").read_text())
    assert not report["passed"] and report["aborted_at"] == "10%" and report["breach"].startswith("error_rate")
    assert report["final_weights"] == {f"http://127.0.0.1:{a_port}": 100, f"http://127.0.0.1:{bad_port}": 0}
    assert report["steps"][-1]["checks"][0]["passed"], "the champion failed its smoke check after the abort"
    page = (settings.reports_dir / "delivery.html").read_text()
    assert f"ABORTED at 10%: {html.escape(report['breach'])}" in page, "the page must show the breached value"
    # The endpoint's clients saw the bad release's errors only while it had its 10%.
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert non_2xx is None or int(non_2xx.group(1)) <= 0.1 * requests
    print(f"bad release answered {answered} of {requests} requests ({answered / requests:.1%}); {message}")


@needs_haproxy
def test_a_release_that_flips_labels_is_aborted_in_shadow_before_any_live_request(endpoint, tmp_path):
    balancer, a_port, start = endpoint
    flip_port = start("flip", fault="flip_labels")
    settings = settings_for(tmp_path, hold_s=0)
    traffic = LocalTraffic(balancer, {"url": f"http://127.0.0.1:{a_port}", "model_version": "a"}, flip_port)
    with pytest.raises(StageError, match=r"^release aborted at step shadow: disagreement = 1\.0 \(max 0\.1\)"):
        progressive.rollout(settings, print)(traffic)
    report = DeliveryReport.read_file(settings.reports_dir / "delivery.json")
    shadow = report.steps[0]["measurements"]
    assert shadow["candidate"]["live_requests"] == 0 and report.aborted_at == "shadow"
    assert balancer.serving().port == a_port


@needs_haproxy
def test_a_release_that_dies_during_the_steps_is_aborted_in_one_line(endpoint, tmp_path):
    balancer, a_port, start = endpoint
    dead_port = start("dies")
    traffic = LocalTraffic(balancer, {"url": f"http://127.0.0.1:{a_port}", "model_version": "a"}, dead_port)
    processes.stop_group(start.started[-1].pid)
    with pytest.raises(StageError, match=r"^release aborted at step shadow: reachable: .*/metrics is unreachable"):
        progressive.rollout(settings_for(tmp_path, hold_s=0), print)(traffic)
    assert balancer.serving().port == a_port
