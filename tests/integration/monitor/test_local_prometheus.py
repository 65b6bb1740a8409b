"""The local Prometheus scrapes a live release; the monitor reads its window from it (`--prometheus`)."""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from traffic import SANITY, other_distribution, send

REPO = Path(__file__).resolve().parents[3]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus is missing: apt-get install prometheus"),
]


def command(artifacts: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARTIFACTS_DIR": str(artifacts)}
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=120)


def query(endpoint: str, promql: str) -> list:
    url = f"{endpoint}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())["data"]["result"]


def scraped(endpoint: str, texts: int, timeout_s: float = 30) -> None:
    """Wait until Prometheus holds a scrape taken after `texts` texts were scored."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = query(endpoint, "sum(sentiment_prediction_score_count)")
        if found and float(found[0]["value"][1]) >= texts:
            time.sleep(1.5)  # one more scrape, so increase() has a point after the last request
            return
        time.sleep(0.5)
    raise AssertionError(f"Prometheus did not scrape {texts} texts in {timeout_s} s")


def test_monitor_reads_the_window_from_the_local_prometheus(release, trained_dir, tmp_path):
    artifacts = tmp_path
    shutil.copytree(trained_dir, artifacts / "candidate")
    up = command(artifacts, "pipeline.local", "prometheus", "up", "--target", release, "--scrape-interval", "1")
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        state = json.loads((artifacts / "prometheus" / "state.json").read_text())
        endpoint = f"http://127.0.0.1:{state['port']}"
        # the service's rules are loaded, all six alerts among them
        with urllib.request.urlopen(f"{endpoint}/api/v1/rules", timeout=5) as resp:
            groups = json.loads(resp.read())["data"]["groups"]
        assert len([r for g in groups for r in g["rules"] if r["type"] == "alerting"]) == 6
        # A series Prometheus first sees already counted shows no increase: warm the counters up first,
        # every label's (the sanity set is scored both ways), or the first negatives go uncounted.
        send(release, SANITY)
        scraped(endpoint, len(SANITY))
        start = float(query(endpoint, "sum(sentiment_prediction_score_count)")[0]["value"][1])

        send(release, SANITY * 3)
        scraped(endpoint, start + 3 * len(SANITY))
        out = command(artifacts, "pipeline.monitor", "--prometheus", "local", "--since", "20s")
        assert out.returncode == 0, out.stdout + out.stderr
        report = json.loads((artifacts / "reports" / "monitor.json").read_text())
        assert report["source"] == endpoint and report["texts"] >= 3 * len(SANITY) * 0.9

        send(release, other_distribution(300))
        scraped(endpoint, start + 3 * len(SANITY) + 300)
        out = command(artifacts, "pipeline.monitor", "--prometheus", endpoint, "--since", "5m")
        assert out.returncode == 1, out.stdout + out.stderr
        assert "DRIFT oov_share" in out.stdout
    finally:
        down = command(artifacts, "pipeline.local", "prometheus", "down")
        assert down.returncode == 0 and "stopped" in down.stdout
    assert command(artifacts, "pipeline.local", "prometheus", "status").returncode == 1
