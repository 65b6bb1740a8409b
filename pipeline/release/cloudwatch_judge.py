"""The judge of a delivery step in AWS: CloudWatch alarms and the load balancer's metrics per target group.

Two sources, both per target group (slot), never only the live one:
- alarms (infra/modules/server/release_alarms.tf): any alarm of either group in ALARM refuses a rollout
  before it starts; a candidate's alarm in ALARM during a bake aborts it;
- the metrics the Application Load Balancer publishes per target group (`get_metric_data`): requests,
  5xx answered by the servers, response time. The candidate is judged against the serving group (the
  baseline) over the same window, with the thresholds of quality_gates/delivery.toml: its 5xx rate may
  exceed the baseline's by at most `error_rate.max`, and its p99 may exceed `p99_ms.max` only while
  the baseline's is as slow (a slow backend slows both; that is not the candidate's fault);
- the model's behaviour per release, from the metrics the service's EMF lines put in CloudWatch
  (sentiment.cloudwatch_metrics, by ModelVersion): the candidate's positive share and score histogram
  against the champion's over the same window, with the same limits and code as the local judge.

Fail closed, as the local judge: too few requests on either group, a missing latency series or a
negative or non-finite value is *inconclusive*, which never passes (the step is held longer, up to a
limit, then the release aborts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.release import cloudwatch_window, progressive
from pipeline.reports import CheckResult

NAMESPACE = "AWS/ApplicationELB"
REQUESTS = "RequestCount"
ERRORS_5XX = "HTTPCode_Target_5XX_Count"
RESPONSE_TIME = "TargetResponseTime"
FIRING = "ALARM"


@dataclass(frozen=True)
class Verdict:
    outcome: str  # "pass", "breach" or "inconclusive"
    checks: list[CheckResult]
    reason: str  # the failed check's line, or why it is inconclusive; "" on a pass


def firing(cloudwatch: Any, names: list[str]) -> dict[str, str]:
    """The alarms of `names` in ALARM, with their reason. An alarm that does not exist is an error:
    the pipeline cannot know it is quiet."""
    if not names:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNames=names, AlarmTypes=["MetricAlarm"]):
        found.update({a["AlarmName"]: a for a in page["MetricAlarms"]})
    if missing := sorted(set(names) - set(found)):
        raise LookupError(f"CloudWatch has no alarm {', '.join(missing)}: the release cannot be judged")
    return {name: found[name].get("StateReason", "") for name in names if found[name]["StateValue"] == FIRING}


def measure(
    cloudwatch: Any,
    load_balancer: str,
    target_group: str,
    start: datetime,
    end: datetime,
    period_s: int,
    latency_statistic: str,
) -> dict[str, Any]:
    """One target group's requests, servers' 5xx and response time over [start, end), as the ALB published them."""
    dimensions = [{"Name": "TargetGroup", "Value": target_group}, {"Name": "LoadBalancer", "Value": load_balancer}]
    series = {
        "requests": (REQUESTS, "Sum"),
        "errors": (ERRORS_5XX, "Sum"),
        "latency": (RESPONSE_TIME, latency_statistic),
    }
    queries = [
        {
            "Id": key,
            "ReturnData": True,
            "MetricStat": {
                "Metric": {"Namespace": NAMESPACE, "MetricName": name, "Dimensions": dimensions},
                "Period": period_s,
                "Stat": stat,
            },
        }
        for key, (name, stat) in series.items()
    ]
    values: dict[str, list[float]] = {key: [] for key in series}
    for page in cloudwatch.get_paginator("get_metric_data").paginate(
        MetricDataQueries=queries, StartTime=start, EndTime=end
    ):
        for result in page["MetricDataResults"]:
            values[result["Id"]].extend(float(v) for v in result["Values"] if v is not None)
    return summarize(values, latency_statistic)


def summarize(values: dict[str, list[float]], latency_statistic: str = "p99") -> dict[str, Any]:
    """A group's numbers from its datapoints; `problems` says what cannot be trusted."""
    problems = [
        f"{key} has a {'negative' if v < 0 else 'non-finite'} datapoint ({v})"
        for key, series in values.items()
        for v in series
        if not math.isfinite(v) or v < 0
    ]
    requests = sum(values["requests"])
    # The ALB publishes no 5XX datapoint for a minute without one: a missing count with requests is 0.
    errors = sum(values["errors"])
    # The worst period's statistic: a window's p99 is at most the largest of its periods' p99.
    latency = max(values["latency"]) if values["latency"] else None
    if requests > 0 and latency is None:
        problems.append(f"no {RESPONSE_TIME} datapoint although {int(requests)} requests were counted")
    return {
        "requests": int(requests) if math.isfinite(requests) else None,
        "errors_5xx": int(errors) if math.isfinite(errors) else None,
        "error_rate": errors / requests if requests > 0 and not problems else None,
        "p99_ms": latency * 1000.0 if latency is not None and not problems else None,
        "latency_statistic": latency_statistic,
        "problems": problems,
    }


def behaviour(cloudwatch: Any, service: str, version: str, start: datetime, end: datetime) -> dict[str, Any]:
    """One release's predictions, positive share and score histogram over [start, end), as its EMF metrics
    add up (the same numbers the local judge reads of /metrics); `invalid` says why there are none."""
    seconds = max(1, math.ceil((end - start).total_seconds()))
    try:
        window = cloudwatch_window.read(cloudwatch, service, seconds, version, now=end.timestamp())
    except cloudwatch_window.NoMetrics as exc:
        return {"predictions": 0, "positive_share": None, "score_histogram": None, "invalid": str(exc)}
    measured = progressive.summary(window.samples)
    kept = ("predictions", "positive_share", "score_histogram", "invalid")
    return {key: measured[key] for key in kept if key in measured}


def judge(
    step: str,
    candidate: dict[str, Any],
    baseline: dict[str, Any],
    alarms: dict[str, str],
    limits: dict[str, Any],
    min_requests: int,
    behaviours: tuple[dict[str, Any], dict[str, Any]] | None = None,
) -> Verdict:
    """The step's checks; a breach names the first failed check, inconclusive says what was missing.
    `behaviours`: (candidate, champion) as `behaviour` reads them; None when both serve one model version."""
    checks = [
        CheckResult(
            f"{step}.alarms",
            not alarms,
            ", ".join(sorted(alarms)) or "none",
            "none in ALARM",
            "; ".join(f"{name}: {reason}" for name, reason in sorted(alarms.items())) or "candidate's alarms",
        ),
    ]
    missing = [
        f"{role} {problem}"
        for role, group in (("candidate", candidate), ("baseline", baseline))
        for problem in group["problems"]
    ]
    missing += [
        f"{role} answered {group['requests']} requests (fewer than {min_requests})"
        for role, group in (("candidate", candidate), ("baseline", baseline))
        if (group["requests"] or 0) < min_requests
    ]
    if not missing:
        error_limit, latency_limit = limits["error_rate"], limits["p99_ms"]
        excess = candidate["error_rate"] - baseline["error_rate"]
        checks.append(
            CheckResult(
                f"{step}.error_rate",
                excess <= error_limit.max,
                round(excess, 4),
                f"<= {error_limit.max:g}",
                f"candidate 5xx rate {candidate['error_rate']:.4f} minus the baseline's {baseline['error_rate']:.4f}",
            )
        )
        budget = max(latency_limit.max, baseline["p99_ms"])
        checks.append(
            CheckResult(
                f"{step}.p99_ms",
                candidate["p99_ms"] <= budget,
                round(candidate["p99_ms"], 2),
                f"<= {budget:g}",
                f"candidate {candidate['latency_statistic']} vs max({latency_limit.max:g}, baseline's "
                f"{baseline['p99_ms']:.1f}) ms",
            )
        )
    if behaviours is not None:
        found = progressive.behaviour_checks(step, *behaviours, limits, min_requests, "EMF metrics")
        missing += [c.detail for c in found if c.inconclusive]
        checks += [c for c in found if not c.inconclusive]
    breach = next((c for c in checks if not c.passed), None)
    if breach is not None:
        return Verdict("breach", checks, breach.line())
    if missing:
        reason = "inconclusive: " + "; ".join(missing)
        checks.append(
            CheckResult(f"{step}.conclusive", False, "inconclusive", f">= {min_requests} requests each", reason)
        )
        return Verdict("inconclusive", checks, reason)
    return Verdict("pass", checks, "")
