"""Progressive delivery: move live traffic to a new release in steps, judge every step, abort on a breach.

The steps and thresholds are quality_gates/delivery.toml. At each step the candidate gets its
weight of the live traffic (the environment's load balancer), and both releases' own /metrics
(scraped directly, never through the endpoint, which denies /metrics) are compared over the step:
5xx rate, p99 latency (from the histogram's bucket deltas), share of positive predictions and the
score histogram. The shadow step gives the candidate no live traffic: the pipeline replays a sample
of texts (quality_gates/sanity_set.jsonl) to both releases and measures how often they disagree.
(HAProxy 2.6 mirrors requests only through an external SPOE agent; a replay needs nothing more and
compares both on exactly the same inputs.) A breach puts all traffic back on the champion, drains
the candidate (the environment then stops it), smoke-tests the champion through the endpoint, writes
the report and exits 1 with one line naming the metric and its value.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline.environments.base import Rollout, ServerCounters, TrafficControl
from pipeline.errors import StageError
from pipeline.html_report import delivery_page
from pipeline.ml import drift
from pipeline.ml.drift import Key
from pipeline.ml.gate_config import GateConfigError, load_jsonl
from pipeline.records import DeliveryReport
from pipeline.release import live_metrics, probe
from pipeline.reports import CheckResult, write_junit
from pipeline.settings import PipelineSettings
from sentiment import monitoring

ROUTE = "/predict"
METRICS = ("error_rate", "p99_ms", "positive_share_delta", "score_distance", "disagreement")


@dataclass(frozen=True)
class Step:
    name: str
    weight: int  # the candidate's percent of live requests
    hold_s: float
    shadow: bool = False


@dataclass(frozen=True)
class Limit:
    max: float
    reason: str


@dataclass(frozen=True)
class DeliveryConfig:
    path: Path
    steps: list[Step]
    limits: dict[str, Limit]
    interval_s: float
    min_requests: int
    shadow_sample: int
    inconclusive_hold_s: float  # how long a live step holds past hold_s while a check lacks data; then abort


def load_config(path: Path, hold_override: float | None = None) -> DeliveryConfig:
    """quality_gates/delivery.toml, checked; any problem is one line and exit 2."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        analysis = doc["analysis"]
        steps = [
            Step(str(s["name"]), int(s["weight"]), float(s["hold_s"]), bool(s.get("shadow", False)))
            for s in doc["steps"]
        ]
        limits = {name: Limit(float(t["max"]), str(t["reason"])) for name, t in doc["thresholds"].items()}
        config = DeliveryConfig(
            path, steps, limits, float(analysis["interval_s"]), int(analysis["min_requests"]),
            int(analysis["shadow_sample"]), float(analysis["inconclusive_hold_s"]),
        )  # fmt: skip
    except FileNotFoundError:
        raise StageError(f"delivery config {path} does not exist", exit_code=2) from None
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise StageError(f"delivery config {path} is malformed ({type(exc).__name__}: {exc})", exit_code=2) from None
    weights = [s.weight for s in config.steps]
    if not steps or weights[-1] != 100 or weights != sorted(weights) or not all(0 <= w <= 100 for w in weights):
        raise StageError(f"delivery config {path}: step weights must rise from 0-100 and end at 100", exit_code=2)
    if unknown := set(config.limits) ^ set(METRICS):
        raise StageError(f"delivery config {path}: thresholds must be exactly {', '.join(METRICS)} ({unknown})", 2)
    if config.min_requests < 1 or config.inconclusive_hold_s < 0:
        raise StageError(f"delivery config {path}: min_requests must be >= 1, inconclusive_hold_s >= 0", 2)
    if hold_override is not None:
        config = replace(
            config,
            steps=[Step(s.name, s.weight, hold_override, s.shadow) for s in steps],
            interval_s=min(config.interval_s, max(hold_override, 0.2)),
        )
    return config


# --- one release's /metrics: a step's numbers are the deltas of its counters (live_metrics.since) ----


def scrape(url: str) -> live_metrics.Snapshot:
    """Read a release's own /metrics (all its workers)."""
    try:
        return live_metrics.snapshot(url)
    except OSError as exc:
        raise StageError(f"{url}/metrics is unreachable ({exc})") from None


# The series a step reads of a release's page: each must be a count (finite, >= 0) or the page is no measurement.
READ = ("sentiment_requests_total", "sentiment_request_seconds_bucket", "sentiment_prediction_score_bucket",
        "sentiment_predictions_total")  # fmt: skip


def summary(window: Mapping[Key, float]) -> dict[str, Any]:
    """What a step measured of one release, from its counters' deltas over the step. `invalid` says why
    the page is no measurement (a negative or non-finite count); then every number is None."""
    bad = sorted((name, value) for (name, _), value in window.items()
                 if name in READ and not (math.isfinite(value) and value >= 0))  # fmt: skip
    if bad:
        empty = dict.fromkeys(("error_rate", "p99_ms", "positive_share", "score_histogram"))
        return {"requests": 0, "errors_5xx": 0, "predictions": 0, "timed": 0, **empty,
                "invalid": f"its /metrics hold {bad[0][0]} = {bad[0][1]}, which is no count"}  # fmt: skip
    # Every method on the route: a 5xx filed under another method label is still a 5xx of /predict.
    answers = drift.select(window, "sentiment_requests_total", route=ROUTE)
    requests = sum(value for _, value in answers)
    errors = sum(value for labels, value in answers if labels.get("status", "").startswith("5"))
    latency = drift.cumulative(window, "sentiment_request_seconds", route=ROUTE)
    p99 = drift.quantile(latency, 0.99)
    scores = drift.cumulative(window, "sentiment_prediction_score")
    scored = scores.get(math.inf, 0.0)
    # Both from one counter: a scrape can land between a request's updates of two metrics.
    labelled = drift.total(window, "sentiment_predictions_total")
    positive = drift.total(window, "sentiment_predictions_total", label="positive")
    return {
        "requests": int(requests),
        "errors_5xx": int(errors),
        "predictions": int(labelled),
        "timed": int(latency.get(math.inf, 0.0)),
        "error_rate": errors / requests if requests else None,
        "p99_ms": None if p99 is None else p99 * 1000.0,
        "positive_share": positive / labelled if labelled else None,
        "score_histogram": drift.per_bucket(scores, monitoring.SCORE_EDGES) if scored else None,
    }


def balancer_window(after: dict[str, ServerCounters], before: dict[str, ServerCounters]) -> dict[str, Any]:
    """Per role, what the load balancer counted over the step; `invalid` when its counters went back."""
    window: dict[str, Any] = {}
    for role in ("champion", "candidate"):
        now, then = after[role], before[role]
        requests, errors = now.requests - then.requests, now.errors_5xx - then.errors_5xx
        numbers = [requests, errors, now.response_ms if now.response_ms is not None else 0.0]
        if not all(math.isfinite(n) and n >= 0 for n in numbers):
            window[role] = {"requests": 0, "errors_5xx": 0, "response_ms": None,
                            "invalid": "the balancer's counters went back (it restarted during the step)"}  # fmt: skip
            continue
        window[role] = {"requests": int(requests), "errors_5xx": int(errors), "response_ms": now.response_ms}
    return window


def _distance(a: list[float] | None, b: list[float] | None) -> float | None:
    """Total variation distance between two histograms over the same buckets (0 = same, 1 = disjoint)."""
    if not a or not b or sum(a) == 0 or sum(b) == 0 or len(a) != len(b):
        return None
    return 0.5 * sum(abs(x / sum(a) - y / sum(b)) for x, y in zip(a, b, strict=True))


# --- the shadow replay ----------------------------------------------------------------------------


def replay(champion_url: str, candidate_url: str, texts: list[str]) -> dict[str, Any]:
    """Send each text to both releases directly; compare their answers."""
    answers: dict[str, list[dict[str, Any] | None]] = {"champion": [], "candidate": []}
    for text in texts:
        body = json.dumps({"text": text}).encode()
        for role, url in (("champion", champion_url), ("candidate", candidate_url)):
            try:
                status, raw = probe.request(f"{url}{ROUTE}", body)
                answers[role].append(json.loads(raw) if status == 200 else None)
            except (OSError, ValueError):
                answers[role].append(None)
    pairs = [(a, b) for a, b in zip(answers["champion"], answers["candidate"], strict=True) if a and b]
    failed = sum(1 for b in answers["candidate"] if b is None)
    disagree = sum(1 for a, b in pairs if a.get("label") != b.get("label"))

    def side(role: str) -> dict[str, Any]:
        ok = [a for a in answers[role] if a]
        histogram = monitoring.bucket_counts([float(a["score"]) for a in ok], monitoring.SCORE_EDGES)
        return {
            "requests": len(texts),
            "errors": len(texts) - len(ok),
            "positive_share": sum(1 for a in ok if a.get("label") == "positive") / len(ok) if ok else None,
            "score_histogram": histogram if ok else None,
        }

    return {
        "texts": len(texts),
        "disagreement": disagree / len(pairs) if pairs else None,
        "candidate_failed": failed,
        "champion": side("champion"),
        "candidate": side("candidate"),
    }


# --- judging a step -------------------------------------------------------------------------------


def _check(step: str, metric: str, value: float | None, limit: Limit, missing: str | None) -> CheckResult:
    """A check with a measurement passes or fails; without one (`missing`, or a value that is no
    measurement) it is inconclusive, which is never a pass."""
    name, expected = f"{step}.{metric}", f"<= {limit.max:g}"
    if missing is None and (value is None or not math.isfinite(value) or value < 0):
        missing = f"{value} is no measurement"
    if missing is not None:
        return CheckResult.without_data(name, expected, missing)
    return CheckResult(name, value <= limit.max, round(value, 4), expected, limit.reason)


def _shadow_checks(step: Step, shadow: dict[str, Any], limits: dict[str, Limit]) -> list[CheckResult]:
    c, k = shadow["champion"], shadow["candidate"]
    share = None
    if c["positive_share"] is not None and k["positive_share"] is not None:
        share = abs(k["positive_share"] - c["positive_share"])
    none = "no answers to compare"
    return [
        _check(step.name, "error_rate", k["errors"] / k["requests"] if k["requests"] else None,
               limits["error_rate"], None if k["requests"] else "no texts replayed"),
        _check(step.name, "disagreement", shadow["disagreement"], limits["disagreement"],
               None if shadow["disagreement"] is not None else "no text answered by both"),
        _check(step.name, "positive_share_delta", share, limits["positive_share_delta"],
               None if share is not None else none),
        _check(step.name, "score_distance", _distance(c["score_histogram"], k["score_histogram"]),
               limits["score_distance"], None if c["score_histogram"] and k["score_histogram"] else none),
    ]  # fmt: skip


Measurement = tuple[float | None, str | None]  # the value, or why there is none


def _error_rate(candidate: dict[str, Any], balancer: dict[str, Any] | None, least: int) -> Measurement:
    """The candidate's 5xx share: the balancer's count first; the release's own page can only make it worse."""
    if candidate.get("invalid"):
        return None, candidate["invalid"]
    rates = [candidate["error_rate"]] if candidate["requests"] >= least else []
    if balancer is not None:
        counted = balancer["candidate"]
        if counted.get("invalid"):
            return None, counted["invalid"]
        if counted["requests"] < least:
            return None, f"the balancer counted {counted['requests']} answers of the candidate (< {least})"
        rates.append(counted["errors_5xx"] / counted["requests"])
    elif not rates:
        return None, f"{candidate['requests']} {ROUTE} answers on the candidate's /metrics (< {least})"
    return max(rates), None


def _p99(candidate: dict[str, Any], balancer: dict[str, Any] | None, least: int) -> Measurement:
    """The candidate's p99 from its histogram; the balancer's mean response time, when it is already over,
    is the value instead (a release's own histogram cannot talk a slow release under the budget)."""
    if candidate.get("invalid"):
        return None, candidate["invalid"]
    if candidate["timed"] < least or candidate["p99_ms"] is None:
        return None, f"{candidate['timed']} timed {ROUTE} answers on the candidate's /metrics (< {least})"
    mean = balancer["candidate"]["response_ms"] if balancer is not None else None
    return max(candidate["p99_ms"], mean or 0.0), None


def judge(step: Step, measured: dict[str, Any], config: DeliveryConfig) -> list[CheckResult]:
    """The step's checks: each passes, fails, or is inconclusive (too little data, a missing series, a
    value that is no count); the caller holds longer on inconclusive and aborts when it stays so."""
    limits, least = config.limits, config.min_requests
    if step.shadow:
        return _shadow_checks(step, measured["shadow"], limits)
    if step.weight == 0:  # the candidate gets no live traffic by design: there is nothing of it to judge
        return []
    champion, candidate, balancer = measured["champion"], measured["candidate"], measured.get("balancer")
    error_rate, why_not_errors = _error_rate(candidate, balancer, least)
    p99, why_not_p99 = _p99(candidate, balancer, least)
    checks = [
        _check(step.name, "error_rate", error_rate, limits["error_rate"], why_not_errors),
        _check(step.name, "p99_ms", p99, limits["p99_ms"], why_not_p99),
    ]
    if step.weight >= 100:  # the champion gets nothing by design: there is nothing to compare with
        return checks
    return checks + behaviour_checks(step.name, candidate, champion, limits, least, "/metrics")


def behaviour_checks(
    step: str, candidate: dict[str, Any], champion: dict[str, Any], limits: dict[str, Limit], least: int, source: str
) -> list[CheckResult]:
    """The candidate's model behaviour against the champion's over the same window (positive share, score
    histogram), from what each release's `source` counted; too few predictions is inconclusive."""
    short = next((f"{role}: {m['invalid']}" if m.get("invalid") else
                  f"{m['predictions']} predictions on the {role}'s {source} (< {least})"
                  for role, m in (("candidate", candidate), ("champion", champion))
                  if m.get("invalid") or m["predictions"] < least), None)  # fmt: skip
    share = None if short else abs(candidate["positive_share"] - champion["positive_share"])
    distance = None if short else _distance(champion["score_histogram"], candidate["score_histogram"])
    return [
        _check(step, "positive_share_delta", share, limits["positive_share_delta"], short),
        _check(step, "score_distance", distance, limits["score_distance"],
               short or (None if distance is not None else "no score histogram")),
    ]  # fmt: skip


# --- the rollout ----------------------------------------------------------------------------------


class Progressive:
    """The steps of one release over a TrafficControl; writes reports/delivery.{json,xml}."""

    def __init__(self, settings: PipelineSettings, log: Callable[[str], None]) -> None:
        self.settings = settings
        self.log = log
        self.config = load_config(settings.delivery_file, settings.delivery_hold_s)
        self.texts = self._sample()
        self.ran = False

    def _sample(self) -> list[str]:
        try:
            rows = load_jsonl(self.settings.quality_gates_dir / "sanity_set.jsonl", {"text"})
        except GateConfigError as exc:
            raise StageError(str(exc), exit_code=2) from None
        # Every n-th text, so the sample spans the file's slices (it is grouped by tag).
        stride = max(1, len(rows) // max(1, self.config.shadow_sample))
        return [r["text"] for r in rows[::stride]][: self.config.shadow_sample]

    def __call__(self, traffic: TrafficControl) -> None:
        self.ran = True
        started = time.monotonic()
        steps: list[dict[str, Any]] = []
        champion, candidate = traffic.champion, traffic.candidate
        self.log(
            f"progressive delivery ({self.config.path}): "
            + " -> ".join(s.name for s in self.config.steps)
            + f"; champion {champion.get('model_version')} at {champion['url']}, candidate at {candidate['url']}"
        )
        for step in self.config.steps:
            try:
                record, breach = self._run_step(step, traffic)
            except StageError as exc:  # a release stopped answering its /metrics: a breach too
                breach = CheckResult(f"{step.name}.reachable", False, str(exc), "answers /metrics")
                record = {"name": step.name, "weight": step.weight, "hold_s": step.hold_s, "seconds": 0,
                          "measurements": {}, "checks": [breach.to_dict()]}  # fmt: skip
            steps.append(record)
            if breach is not None:
                self._abort(traffic, steps, step, breach, started)
        final = {candidate["url"]: 100, champion["url"]: 0}
        self._report(traffic, steps, True, final, started)

    def _run_step(self, step: Step, traffic: TrafficControl) -> tuple[dict[str, Any], CheckResult | None]:
        """Hold the step and judge it every interval: a failed check ends it at once (the breach); it
        passes once its hold is over with every check passed. While a check is inconclusive it holds
        longer, up to inconclusive_hold_s, and, when too few live requests reach the candidate, sends
        probe requests of its own through the endpoint; still inconclusive then is a breach too."""
        champion_url, candidate_url = traffic.champion["url"], traffic.candidate["url"]
        traffic.set_candidate_weight(step.weight)
        self.log(f"step {step.name}: candidate weight {step.weight}% of live traffic, hold {step.hold_s:g}s")
        step_started = time.monotonic()
        before = {"champion": scrape(champion_url), "candidate": scrape(candidate_url)}
        counted_before = None if step.shadow else self._counters(traffic)
        shadow = replay(champion_url, candidate_url, self.texts) if step.shadow else None
        deadline = step_started + step.hold_s
        give_up = deadline + (0.0 if step.shadow else self.config.inconclusive_hold_s)
        probes = 0
        while True:
            measured: dict[str, Any] = {
                role: summary(live_metrics.since(scrape(url), before[role]).samples)
                for role, url in (("champion", champion_url), ("candidate", candidate_url))
            }
            if counted_before is not None:
                measured["balancer"] = balancer_window(self._counters(traffic), counted_before)
            if shadow is not None:
                measured["shadow"] = shadow
                # The replayed texts are not live traffic: take them out of the live counts.
                for role in ("champion", "candidate"):
                    measured[role]["live_requests"] = max(0, measured[role]["requests"] - len(self.texts))
            measured["probe_requests"] = probes
            checks = judge(step, measured, self.config)
            failed = [c for c in checks if not c.passed and not c.inconclusive]
            unsure = [c for c in checks if c.inconclusive]
            now = time.monotonic()
            if failed or (now >= deadline and not unsure) or now >= give_up:
                breach = (failed or unsure or [None])[0]
                break
            quiet = self._quiet(step, measured) if now >= deadline else None  # live traffic first, for the hold
            if quiet is not None:
                if probes == 0:
                    self.log(f"step {step.name}: {quiet}: too little live traffic to judge, so the step "
                             "sends probe requests of its own through the endpoint")  # fmt: skip
                probes += self._probe(traffic.endpoint_url(), quiet_count(measured), step.weight)
            time.sleep(min(self.config.interval_s, deadline - now) if now < deadline else self.config.interval_s)
        for role in ("champion", "candidate"):
            measured[role].setdefault("live_requests", measured[role]["requests"])
        live = measured["champion"]["live_requests"] + measured["candidate"]["live_requests"]
        measured["candidate_live_share"] = measured["candidate"]["live_requests"] / live if live else None
        record = {
            "name": step.name,
            "weight": step.weight,
            "hold_s": step.hold_s,
            "seconds": round(time.monotonic() - step_started, 2),
            "measurements": measured,
            "checks": [c.to_dict() for c in checks],
        }
        verdict = "pass" if breach is None else ("INCONCLUSIVE" if breach.inconclusive else "BREACH")
        if not checks:
            verdict = "nothing to judge: the candidate gets no traffic at this step"
        self.log(f"step {step.name}: {self._numbers(measured)}; {verdict}")
        return record, breach

    def _counters(self, traffic: TrafficControl) -> dict[str, ServerCounters]:
        try:
            return traffic.counters()
        except OSError as exc:
            raise StageError(f"the load balancer's counters cannot be read ({exc})") from None

    def _quiet(self, step: Step, measured: dict[str, Any]) -> str | None:
        """Why the step lacks traffic (None: it has enough, or more requests would not help)."""
        if step.shadow or step.weight == 0:
            return None
        least = self.config.min_requests
        got = quiet_count(measured)
        if got >= least and (step.weight >= 100 or measured["champion"]["predictions"] >= least):
            return None
        return f"{got} answers of the candidate so far (< {least})"

    def _probe(self, endpoint: str, got: int, weight: int) -> int:
        """A burst of the sample texts through the endpoint, sized so the candidate's share reaches
        min_requests; the number of requests sent. Each text goes out as many times in a row as the
        balancer's rotation takes to reach both releases, so both answer the same texts: the model
        comparison is then between the models, not between two halves of the sample."""
        repeat = math.ceil(100 / max(1, min(weight, 100 - weight))) if weight < 100 else 1
        wanted = max(1, self.config.min_requests - got) * math.ceil(100 / max(1, weight))
        count = min(max(wanted, repeat), 400)
        for i in range(count):
            body = json.dumps({"text": self.texts[(i // repeat) % len(self.texts)]}).encode()
            with contextlib.suppress(OSError):  # the balancer counts a failed request too
                probe.request(f"{endpoint}{ROUTE}", body)
        return count

    @staticmethod
    def _numbers(measured: dict[str, Any]) -> str:
        def fmt(value: float | None, pattern: str) -> str:
            return "-" if value is None else pattern.format(value)

        k, c = measured["candidate"], measured["champion"]
        if "shadow" in measured:  # the model's numbers of this step are the replay's, on the same texts
            k = {**k, "positive_share": measured["shadow"]["candidate"]["positive_share"]}
            c = {**c, "positive_share": measured["shadow"]["champion"]["positive_share"]}
        sent = measured.get("probe_requests")
        probes = f", {sent} of them the step's own probes" if sent else ""
        parts = [
            f"live answers candidate {k['live_requests']} / champion {c['live_requests']}"
            f" (candidate share {fmt(measured['candidate_live_share'], '{:.1%}')}{probes})",
            f"candidate 5xx {fmt(k['error_rate'], '{:.3f}')}, p99 {fmt(k['p99_ms'], '{:.1f}')} ms",
            f"positive share {fmt(k['positive_share'], '{:.2f}')} vs {fmt(c['positive_share'], '{:.2f}')}",
        ]
        if "balancer" in measured:
            counted = measured["balancer"]["candidate"]
            parts.append(f"balancer: candidate {counted['requests']} answers, {counted['errors_5xx']} 5xx, "
                         f"mean {fmt(counted['response_ms'], '{:.0f}')} ms")  # fmt: skip
        if "shadow" in measured:
            shadow = measured["shadow"]
            parts.append(f"shadow: {shadow['texts']} texts, disagreement {fmt(shadow['disagreement'], '{:.3f}')}")
        return "; ".join(parts)

    def _abort(
        self, traffic: TrafficControl, steps: list[dict[str, Any]], step: Step, breach: CheckResult, started: float
    ) -> None:
        champion = traffic.champion
        metric = breach.name.rpartition(".")[2]
        self.log(f"step {step.name}: {breach.line()}: aborting, all traffic back on {champion.get('model_version')}")
        traffic.abort()
        smoke = self._smoke_champion(traffic.endpoint_url())
        steps.append({"name": "abort", "weight": 0, "hold_s": 0, "seconds": 0, "measurements": {},
                      "checks": [smoke.to_dict()]})  # fmt: skip
        final = {champion["url"]: 100, traffic.candidate["url"]: 0}
        limit = self.config.limits.get(metric)
        if breach.inconclusive:
            line = f"{metric} inconclusive ({breach.detail}), which is never a pass"
        else:
            line = f"{metric} = {breach.value} (max {limit.max:g})" if limit else f"{metric}: {breach.value}"
        self._report(traffic, steps, False, final, started, aborted_at=step.name, breach=line)
        served = "the champion passed its smoke check" if smoke.passed else f"CHAMPION FAILS TOO: {smoke.detail}"
        raise StageError(
            f"release aborted at step {step.name}: {line}; traffic is back on {champion.get('model_version')} "
            f"({served}); report {self.settings.reports_dir / 'delivery.json'}"
        )

    @staticmethod
    def _smoke_champion(endpoint: str) -> CheckResult:
        """The champion, through the endpoint, after an abort: /ready and a few predictions answer 200."""
        statuses = []
        try:
            statuses.append(probe.request(f"{endpoint}/ready")[0])
            body = json.dumps({"text": "a warm and funny film"}).encode()
            statuses += [probe.request(f"{endpoint}{ROUTE}", body)[0] for _ in range(10)]
        except OSError as exc:
            return CheckResult("abort.champion_smoke", False, None, "all 200", f"endpoint unreachable: {exc}")
        ok = sum(1 for s in statuses if s == 200)
        return CheckResult("abort.champion_smoke", ok == len(statuses), f"{ok}/{len(statuses)}", "all 200",
                           "after the abort, through the endpoint")  # fmt: skip

    def _report(
        self,
        traffic: TrafficControl,
        steps: list[dict[str, Any]],
        passed: bool,
        final: dict[str, int],
        started: float,
        **outcome: str,
    ) -> None:
        report = DeliveryReport(
            endpoint_url=traffic.endpoint_url(),
            champion=traffic.champion,
            candidate=traffic.candidate,
            config_file=str(self.config.path),
            passed=passed,
            steps=steps,
            final_weights=final,
            **outcome,
        )
        write_report(self.settings.reports_dir, report, time.monotonic() - started)


def write_report(reports: Path, report: DeliveryReport, seconds: float) -> None:
    """reports/delivery.json, its JUnit twin delivery.xml (every step's checks) and delivery.html."""
    report.write_file(reports / "delivery.json")
    checks = [CheckResult(**c) for s in report.steps for c in s["checks"]]
    write_junit(reports / "delivery.xml", "delivery", checks, seconds)
    delivery_page.write(report, reports)


def quiet_count(measured: dict[str, Any]) -> int:
    """The candidate's answers in the step: the balancer's count, else its own page's."""
    balancer = measured.get("balancer")
    candidate = measured["candidate"]
    counted = balancer["candidate"]["requests"] if balancer is not None else candidate["requests"]
    return min(counted, candidate["predictions"]) if not candidate.get("invalid") else counted


def rollout(settings: PipelineSettings, log: Callable[[str], None]) -> Rollout:
    """The steps for the next release (config read now, so a bad file fails before anything starts)."""
    return Progressive(settings, log)
