"""The service as it ships (`python -m sentiment serve`, two workers) writes EMF lines on its stdout when
EMF_SERVICE is set: valid Embedded Metric Format, exactly the defined metrics, the traffic it answered,
and never the text of a request. Without the setting (local) it writes none."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from emf_spec import valid_lines
from slow_clients import running, service_env

from pipeline.environments import processes
from sentiment import cloudwatch_metrics as cw

pytestmark = pytest.mark.slow
REVIEW_WORDS = "zanzibar quokka marmalade"
TEXTS = 12
BAD = 3


def post(port: int, body: bytes) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/predict", data=body,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:  # nosec B310 - loopback only
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def traffic(port: int) -> None:
    for i in range(TEXTS // 2):
        assert post(port, json.dumps({"texts": [f"{REVIEW_WORDS} a warm film {i}", "dull and slow"]}).encode()) == 200
    for _ in range(BAD):
        assert post(port, json.dumps({"text": ""}).encode()) == 400


def emf_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith('{"_aws"')]


def serve(trained_dir, tmp_path, **settings: str) -> str:
    port = processes.free_port()
    env = {k: v for k, v in service_env(trained_dir).items() if not k.startswith("EMF_")}
    env.update(SERVE_WORKERS="2", SERVE_ACCESSLOG="off", **settings)
    log = tmp_path / "serve.log"
    with running(processes.serve_command(f"127.0.0.1:{port}"), env, log, port):
        traffic(port)
        time.sleep(3)  # two intervals of one second: every worker has flushed what it answered
    return log.read_text(encoding="utf-8", errors="replace")


def test_the_service_writes_its_traffic_as_emf_lines(trained_dir, tmp_path):
    log = serve(trained_dir, tmp_path, EMF_SERVICE="sentiment-api-test", EMF_INTERVAL_S="1")
    docs = valid_lines(emf_lines(log))
    assert docs, log[-3000:]
    assert {d[cw.SERVICE] for d in docs} == {"sentiment-api-test"}
    metrics = {m["Name"] for d in docs for directive in d["_aws"]["CloudWatchMetrics"] for m in directive["Metrics"]}
    assert metrics == {m.name for m in cw.METRICS}
    total = lambda name: sum(d.get(name, 0) for d in docs)  # noqa: E731
    assert total(cw.PREDICTIONS.name) == TEXTS and total(cw.REJECTED_INPUTS.name) == BAD
    assert total("ScoreBucket") == TEXTS and total("PredictSecondsBucket") == TEXTS // 2 + BAD
    assert total(cw.SERVER_ERRORS.name) == 0 and total(cw.REQUESTS.name) >= TEXTS // 2 + BAD
    assert REVIEW_WORDS not in "\n".join(emf_lines(log)) and "dull" not in "\n".join(emf_lines(log))


def test_no_emf_lines_locally_unless_asked(trained_dir, tmp_path):
    log = serve(trained_dir, tmp_path, PROJECT_ENV="local", EMF_INTERVAL_S="1")
    assert emf_lines(log) == []
