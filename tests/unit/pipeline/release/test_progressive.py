"""Progressive delivery's config, its arithmetic on histogram deltas, and its judge on fixed metric
samples: it fails closed. The real releases under load are in tests/integration/release/.

A check passes or fails only on a measurement; a missing series, a value that is no count or too
little traffic is inconclusive, which never counts as a pass: the step holds longer (probing when
there is no live traffic), then aborts. The loop runs here against a fake load balancer and fake
/metrics pages (no server).
"""

import math
import shutil
import time
from pathlib import Path

import pytest

from pipeline.environments.base import ServerCounters, TrafficControl
from pipeline.errors import StageError
from pipeline.release import live_metrics, progressive
from pipeline.release.live_metrics import Snapshot
from pipeline.settings import PipelineSettings
from sentiment import monitoring

ROOT = Path(__file__).resolve().parents[4]
CONFIG = progressive.load_config(ROOT / "quality_gates" / "delivery.toml")
LIVE = next(s for s in CONFIG.steps if not s.shadow and s.weight < 100)
EDGES = [str(e) for e in monitoring.SCORE_EDGES]

POST = """wrk.method = "POST"
wrk.body = '{"text": "a warm and funny film"}'
wrk.headers["Content-Type"] = "application/json"
"""


# --- the config and the arithmetic (fast) ---------------------------------------------------------


def test_the_shipped_config_steps_from_shadow_to_all_traffic():
    config = progressive.load_config(ROOT / "quality_gates" / "delivery.toml")
    assert [(s.name, s.weight) for s in config.steps] == [("shadow", 0), ("10%", 10), ("50%", 50), ("100%", 100)]
    assert config.steps[0].shadow and all(limit.reason for limit in config.limits.values())
    assert all(s.hold_s == 0.5 for s in progressive.load_config(config.path, hold_override=0.5).steps)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("weight = 100", "weight = 90"), "end at 100"),
        (lambda t: t.replace("[thresholds.disagreement]", "[thresholds.other]"), "thresholds must be exactly"),
        (lambda t: t.replace("min_requests = 20", "min_requests = 'x'"), "malformed"),
        (lambda t: t + "\n[[steps", "malformed"),
    ],
)
def test_a_broken_config_is_one_line_and_exit_2(tmp_path, edit, message):
    path = tmp_path / "delivery.toml"
    path.write_text(edit((ROOT / "quality_gates" / "delivery.toml").read_text()))
    with pytest.raises(StageError, match=message) as caught:
        progressive.load_config(path)
    assert caught.value.exit_code == 2 and "\n" not in str(caught.value)


def _page(answers: dict[str, int], latency: dict[str, int], labels: dict[str, int], scores: dict[str, int]) -> Snapshot:
    """A release's /metrics as the service writes it, reduced to what a step reads."""
    route = (("method", "POST"), ("route", "/predict"))
    samples = {("sentiment_requests_total", (*route, ("status", s))): float(n) for s, n in answers.items()}
    samples |= {("sentiment_request_seconds_bucket", (("le", le), ("route", "/predict"))): float(n)
                for le, n in latency.items()}  # fmt: skip
    samples |= {("sentiment_prediction_score_bucket", (("le", le),)): float(n) for le, n in scores.items()}
    samples |= {("sentiment_predictions_total", (("label", label),)): float(n) for label, n in labels.items()}
    return Snapshot("http://release", 0.0, samples)


def test_p99_and_shares_come_from_bucket_deltas():
    edges = [str(e) for e in monitoring.SCORE_EDGES]
    before = _page(
        {"200": 10},
        {"0.001": 10, "0.01": 10, "+Inf": 10},
        {"positive": 5, "negative": 5},
        dict.fromkeys([*edges, "+Inf"], 10),
    )
    after = _page(
        {"200": 105, "500": 5},
        {"0.001": 50, "0.01": 108, "+Inf": 110},
        {"positive": 75, "negative": 35},
        dict.fromkeys([*edges, "+Inf"], 110),
    )
    measured = progressive.summary(live_metrics.since(after, before).samples)
    assert measured["requests"] == 100 and measured["error_rate"] == 0.05
    assert measured["p99_ms"] == 10.0  # 98 of 100 within 10 ms: the 99th is beyond the last finite bound
    assert measured["positive_share"] == 0.7 and measured["score_histogram"][0] == 100
    assert progressive._distance([1, 0], [0, 1]) == 1.0 and progressive._distance([1, 1], [2, 2]) == 0.0


# --- real releases behind the real endpoint -------------------------------------------------------


def page(ok=100, errors=0, method="POST", labels=(50, 50), latency=True, predict=True, overrides=None):
    """A release's counters over a step, as `summary` reads them; overrides replace single samples."""
    samples = {}
    if predict:
        route = (("method", "POST"), ("route", "/predict"))
        samples[("sentiment_requests_total", (*route, ("status", "200")))] = float(ok)
        if errors:
            samples[("sentiment_requests_total", (("method", method), ("route", "/predict"), ("status", "500")))] = (
                float(errors)
            )
        if latency:
            for le in ("0.005", "0.01", "+Inf"):
                samples[("sentiment_request_seconds_bucket", (("le", le), ("route", "/predict")))] = float(ok)
        answered = sum(labels)
        samples |= {("sentiment_prediction_score_bucket", (("le", le),)): float(answered) for le in [*EDGES, "+Inf"]}
        samples |= {("sentiment_predictions_total", (("label", name),)): float(n)
                    for name, n in zip(("positive", "negative"), labels, strict=True)}  # fmt: skip
    samples.update(overrides or {})
    return samples


def counted(requests=100, errors=0, response_ms=3.0):
    return {"requests": requests, "errors_5xx": errors, "response_ms": response_ms}


def measure(candidate, champion=None, balancer="default"):
    measured = {"candidate": progressive.summary(candidate), "champion": progressive.summary(champion or page())}
    if balancer == "default":
        balancer = {"candidate": counted(), "champion": counted(900)}
    if balancer is not None:
        measured["balancer"] = balancer
    return measured


def verdicts(checks):
    return {c.name.rpartition(".")[2]: "inconclusive" if c.inconclusive else c.passed for c in checks}


def test_a_healthy_step_passes_every_check_on_data():
    checks = progressive.judge(LIVE, measure(page()), CONFIG)
    assert verdicts(checks) == dict.fromkeys(("error_rate", "p99_ms", "positive_share_delta", "score_distance"), True)


def test_a_candidate_page_without_a_predict_series_is_inconclusive_not_passed():
    checks = progressive.judge(LIVE, measure(page(predict=False)), CONFIG)
    found = verdicts(checks)
    assert found["error_rate"] is True  # the balancer counted 100 good answers
    assert found["p99_ms"] == found["positive_share_delta"] == found["score_distance"] == "inconclusive"
    assert not any(c.passed for c in checks if c.inconclusive)


def test_5xx_filed_under_another_method_label_still_count():
    checks = progressive.judge(LIVE, measure(page(errors=10, method="GET"), balancer=None), CONFIG)
    error_rate = next(c for c in checks if c.name.endswith("error_rate"))
    assert not error_rate.passed and error_rate.value == round(10 / 110, 4)


def test_the_balancers_own_5xx_count_fails_a_release_whose_page_says_it_is_fine():
    balancer = {"candidate": counted(100, errors=30), "champion": counted(900)}
    checks = progressive.judge(LIVE, measure(page(), balancer=balancer), CONFIG)
    assert verdicts(checks)["error_rate"] is False


@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf, -math.inf])
def test_a_negative_or_non_finite_count_is_inconclusive_and_never_crashes(value):
    key = ("sentiment_requests_total", (("method", "POST"), ("route", "/predict"), ("status", "500")))
    checks = progressive.judge(LIVE, measure(page(overrides={key: value})), CONFIG)
    assert set(verdicts(checks).values()) == {"inconclusive"}
    assert "no count" in checks[0].detail


def test_too_little_traffic_is_inconclusive():
    balancer = {"candidate": counted(CONFIG.min_requests - 1), "champion": counted(900)}
    checks = progressive.judge(LIVE, measure(page(ok=5, labels=(3, 2)), balancer=balancer), CONFIG)
    assert set(verdicts(checks).values()) == {"inconclusive"}
    assert "(< 20)" in checks[0].detail


def test_a_slow_release_by_the_balancers_clock_fails_p99_whatever_its_histogram_says():
    balancer = {"candidate": counted(response_ms=400.0), "champion": counted(900)}
    checks = progressive.judge(LIVE, measure(page(), balancer=balancer), CONFIG)
    assert verdicts(checks)["p99_ms"] is False


def test_the_last_step_compares_nothing_with_a_champion_that_gets_no_traffic():
    last = CONFIG.steps[-1]
    checks = progressive.judge(last, measure(page(), champion={}), CONFIG)
    assert verdicts(checks) == {"error_rate": True, "p99_ms": True}


def test_a_live_step_without_weight_judges_nothing_rather_than_waiting_for_answers_that_cannot_come():
    idle = progressive.Step("idle", 0, 1.0)
    assert progressive.judge(idle, measure(page(0, labels=(0, 0)), balancer=None), CONFIG) == []


def test_a_shadow_replay_nobody_answered_is_inconclusive():
    side = {"requests": 64, "errors": 64, "positive_share": None, "score_histogram": None}
    shadow = {"texts": 64, "disagreement": None, "candidate_failed": 64, "champion": side, "candidate": side}
    checks = progressive.judge(CONFIG.steps[0], {"shadow": shadow}, CONFIG)
    assert verdicts(checks)["error_rate"] is False
    assert {verdicts(checks)[m] for m in ("disagreement", "positive_share_delta")} == {"inconclusive"}


# --- the step loop, against a fake balancer and fake pages -------------------------------------------


SIDE = {"requests": 64, "errors": 0, "positive_share": 0.5, "score_histogram": [32, *[0] * 8, 32]}
SAME_ANSWERS = {"texts": 64, "disagreement": 0.0, "candidate_failed": 0, "champion": SIDE, "candidate": SIDE}


class FakeTraffic(TrafficControl):
    """Two releases behind a balancer; `sent` requests through the endpoint are split by weight."""

    def __init__(self, candidate_page):
        self.champion = {"url": "http://champion", "model_version": "0123456789ab"}
        self.candidate = {"url": "http://candidate"}
        self.weight = 0
        self.sent = {"champion": 0, "candidate": 0}
        self.candidate_page = candidate_page
        self.aborted = False

    def endpoint_url(self):
        return "http://endpoint"

    def set_candidate_weight(self, percent):
        self.weight = percent

    def abort(self):
        self.aborted = True

    def counters(self):
        return {role: ServerCounters(n, 0, 2.0) for role, n in self.sent.items()}

    def send(self):
        role = "candidate" if (sum(self.sent.values()) % 100) < self.weight else "champion"
        self.sent[role] += 1

    def page(self, url):
        n = self.sent["candidate" if url == self.candidate["url"] else "champion"]
        samples = self.candidate_page(n) if url == self.candidate["url"] else page(n, labels=(n // 2, n - n // 2))
        return Snapshot(url, time.time(), samples)


@pytest.fixture
def rollout(tmp_path, monkeypatch):
    gates = tmp_path / "quality_gates"
    gates.mkdir()
    shutil.copy(ROOT / "quality_gates" / "sanity_set.jsonl", gates)
    text = (ROOT / "quality_gates" / "delivery.toml").read_text()
    (gates / "delivery.toml").write_text(text.replace("inconclusive_hold_s = 30", "inconclusive_hold_s = 2"))
    settings = PipelineSettings(artifacts_dir=tmp_path / "artifacts", quality_gates_dir=gates, delivery_hold_s=0.2)
    lines = []

    def start(candidate_page):
        traffic = FakeTraffic(candidate_page)
        monkeypatch.setattr(progressive, "scrape", traffic.page)
        monkeypatch.setattr(progressive.probe, "request", lambda url, body=None: traffic.send() or (200, b"{}"))
        monkeypatch.setattr(progressive, "replay", lambda *a: SAME_ANSWERS)
        return traffic, progressive.Progressive(settings, lines.append)

    start.lines = lines
    return start


def test_a_run_without_live_traffic_says_so_and_is_judged_on_probes_of_its_own(rollout):
    traffic, steps = rollout(lambda n: page(n, labels=(n // 2, n - n // 2)))
    record, breach = steps._run_step(steps.config.steps[1], traffic)
    assert breach is None, breach
    assert record["measurements"]["probe_requests"] > 0
    assert any("too little live traffic" in line and "probe requests of its own" in line for line in rollout.lines)
    assert record["measurements"]["balancer"]["candidate"]["requests"] >= CONFIG.min_requests


def test_a_step_that_stays_inconclusive_holds_up_to_its_limit_then_breaches(rollout):
    traffic, steps = rollout(lambda n: page(n, predict=False))  # the candidate hides its /predict series
    started = time.monotonic()
    record, breach = steps._run_step(steps.config.steps[1], traffic)
    assert breach is not None and breach.inconclusive
    assert 2 <= time.monotonic() - started < 10
    assert not record["checks"][1]["passed"]


def test_an_inconclusive_abort_says_so_in_one_line(rollout):
    traffic, steps = rollout(lambda n: page(n, predict=False))
    monkeypatched_smoke = progressive.CheckResult("abort.champion_smoke", True, "11/11", "all 200")
    steps._smoke_champion = lambda endpoint: monkeypatched_smoke
    with pytest.raises(StageError, match=r"inconclusive .*which is never a pass") as caught:
        steps(traffic)
    assert traffic.aborted and "\n" not in str(caught.value)
