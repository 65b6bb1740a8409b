"""The Prometheus alert list and the Grafana dashboard under infra/monitoring/ name what exists."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
PROMETHEUS = REPO / "infra" / "monitoring" / "prometheus"
DASHBOARD = REPO / "infra" / "monitoring" / "grafana" / "sentiment.json"
PROMTOOL = shutil.which("promtool")
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
