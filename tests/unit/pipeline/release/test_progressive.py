"""Progressive delivery's config and its judge of a step: the shipped steps, broken configs, p99 and shares
from histogram deltas. The real releases under load are in tests/integration/release/test_progressive_delivery.py."""

from pathlib import Path

import pytest

from pipeline.cli import StageError
from pipeline.release import live_metrics, progressive
from pipeline.release.live_metrics import Snapshot
from sentiment import monitoring

ROOT = Path(__file__).resolve().parents[4]
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
