"""Prometheus rules (promtool unit tests) and the Grafana dashboard under infra/monitoring/."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "infra" / "monitoring" / "prometheus"
DASHBOARD = REPO / "infra" / "monitoring" / "grafana" / "sentiment.json"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is missing: install Debian's prometheus package (.ci/run does)"
)
NAME = re.compile(r"\b(sentiment[_:][a-z_:0-9]*)")


def promtool(*args, cwd=PROMETHEUS):
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def service_metric_names() -> set[str]:
    from prometheus_client import REGISTRY

    from sentiment import metrics  # noqa: F401 - registers the service's metrics

    names = set()
    for family in REGISTRY.collect():
        if not family.name.startswith("sentiment_"):
            continue
        suffixes = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("_total",)}.get(family.type, ("",))
        names |= {family.name + suffix for suffix in suffixes}
    return names


def rules() -> list[dict]:
    return [
        rule for group in yaml.safe_load((PROMETHEUS / "rules.yml").read_text())["groups"] for rule in group["rules"]
    ]


def recorded() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


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


def test_the_alert_list_is_complete_and_every_alert_is_tested():
    alerts = {rule["alert"] for rule in rules() if "alert" in rule}
    assert alerts == {
        "SentimentHigh5xxRate",
        "SentimentHighP99Latency",
        "SentimentInputDrift",
        "SentimentModelStale",
        "SentimentNoTraffic",
        "SentimentNotReady",
    }
    tests = yaml.safe_load((PROMETHEUS / "rules_test.yml").read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test.get("alert_rule_test", [])}
    assert tested == alerts
    for rule in rules():
        if "alert" in rule:
            assert rule["annotations"]["summary"] and rule["labels"]["severity"] in {"page", "ticket"}


def test_rules_and_dashboard_name_only_metrics_that_exist():
    known = service_metric_names() | recorded()
    exprs = [rule["expr"] for rule in rules()]
    exprs += [target["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"] for target in panel["targets"]]
    for expr in exprs:
        unknown = set(NAME.findall(expr)) - known
        assert not unknown, f"{expr!r} names {unknown}"


def test_the_dashboard_covers_traffic_latency_errors_scores_drift_and_the_model():
    doc = json.loads(DASHBOARD.read_text())
    titles = " ".join(panel["title"].lower() for panel in doc["panels"])
    for topic in ("traffic", "latency", "errors", "score distribution", "drift", "model version", "model age"):
        assert topic in titles, topic
    ids = [panel["id"] for panel in doc["panels"]]
    assert len(ids) == len(set(ids)) and doc["uid"]


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
