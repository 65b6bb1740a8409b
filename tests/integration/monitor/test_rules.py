"""Prometheus rules (promtool unit tests) and the dashboard's queries under infra/monitoring/, parsed by promtool."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
PROMETHEUS = REPO / "infra" / "monitoring" / "prometheus"
DASHBOARD = REPO / "infra" / "monitoring" / "grafana" / "sentiment.json"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is missing: install Debian's prometheus package (.ci/run does)"
)


def promtool(*args, cwd=PROMETHEUS):
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def rules() -> list[dict]:
    return [
        rule for group in yaml.safe_load((PROMETHEUS / "rules.yml").read_text())["groups"] for rule in group["rules"]
    ]


@needs_promtool
def test_rules_are_valid_and_their_unit_tests_pass():
    check = promtool("check", "rules", "rules.yml")
    assert check.returncode == 0, check.stdout + check.stderr
    tested = promtool("test", "rules", "rules_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


@needs_promtool
def test_a_broken_alert_fails_its_unit_test(tmp_path):
    for name in ("rules.yml", "rules_test.yml"):
        shutil.copy(PROMETHEUS / name, tmp_path / name)
    broken = (tmp_path / "rules.yml").read_text().replace("ratio_rate5m > 0.01", "ratio_rate5m > 0.5")
    (tmp_path / "rules.yml").write_text(broken)
    tested = promtool("test", "rules", "rules_test.yml", cwd=tmp_path)
    assert tested.returncode != 0 and "SentimentHigh5xxRate" in tested.stdout + tested.stderr


@needs_promtool
def test_every_dashboard_query_parses(tmp_path):
    # promtool parses PromQL when it checks rules: each query becomes a recording rule.
    panels = json.loads(DASHBOARD.read_text())["panels"]
    queries = [t["expr"].replace("$__rate_interval", "5m") for p in panels for t in p["targets"]]
    doc = {"groups": [{"name": "dashboard", "rules": [{"record": f"q{i}", "expr": q} for i, q in enumerate(queries)]}]}
    (tmp_path / "queries.yml").write_text(yaml.safe_dump(doc))
    check = promtool("check", "rules", "queries.yml", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    (tmp_path / "bad.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "x", "rules": [{"record": "q", "expr": "sum(("}]}]})
    )
    assert promtool("check", "rules", "bad.yml", cwd=tmp_path).returncode != 0
