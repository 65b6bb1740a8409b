"""The slots of the AWS scale-out stack as Terraform variables: one configuration, only weights and sizes move."""

from pathlib import Path

import pytest

from pipeline.errors import StageError
from pipeline.release.scale_out import Layout, Slot, load_bake_config, variables, with_weight

OUTPUTS = {
    "endpoint_url": "http://x.elb.amazonaws.com",
    "release_slots": {
        "live": {"image": "r/a:1", "model_version": "aaaaaaaaaaaa", "weight": 0, "replicas": 1},
        "candidate": {"image": "r/b:1", "model_version": "bbbbbbbbbbbb", "weight": "100", "replicas": None},
    },
    "release_alarms": {"live": ["x-live-5xx-rate"], "candidate": ["x-candidate-5xx-rate"]},
    "cloudwatch_dimensions": {
        "load_balancer": "app/x/1",
        "target_groups": {"live": "targetgroup/x-tg/1", "candidate": "targetgroup/x-cand/2"},
    },
}


def test_the_candidate_slot_serves_after_a_promotion_and_the_live_slot_keeps_the_previous_parked():
    layout = Layout.of(OUTPUTS)
    assert layout.serving() == "candidate" and layout.parked() == "live"
    assert Layout.of({"endpoint_url": "http://1.2.3.4:8000", "release_slots": None}) is None


def test_a_slot_at_zero_servers_is_not_parked():
    outputs = {**OUTPUTS, "release_slots": {**OUTPUTS["release_slots"]}}
    outputs["release_slots"]["live"] = {**outputs["release_slots"]["live"], "replicas": 0}
    assert Layout.of(outputs).parked() is None


def test_stepping_the_live_slot_sets_the_one_weight_variable_and_keeps_everything_else():
    slots = Layout.of(OUTPUTS).slots
    values = variables({"region": "eu-west-1"}, with_weight(slots, "live", 10))
    assert values == {
        "region": "eu-west-1", "image": "r/a:1", "model_version": "aaaaaaaaaaaa", "live_replicas": 1,
        "candidate": {"image": "r/b:1", "model_version": "bbbbbbbbbbbb", "weight": 90, "replicas": None},
    }  # fmt: skip
    assert "live_replicas" not in variables({}, with_weight(slots, "live", 100, live=None)), "null: left out"
    aborted = with_weight(slots, "candidate", 100, live=0)
    assert aborted["live"] == Slot("r/a:1", "aaaaaaaaaaaa", 0, 0)


def test_the_hold_override_shrinks_bakes_to_seconds(tmp_path):
    path = tmp_path / "delivery.toml"
    path.write_text(
        "[aws]\nbake_s = 300\nmax_hold_s = 900\ninterval_s = 30\nperiod_s = 60\n"
        'latency_statistic = "p99"\nparked_replicas = 1\n'
    )
    assert load_bake_config(path).bake_s == 300
    quick = load_bake_config(path, hold_override=2)
    assert (quick.bake_s, quick.max_hold_s, quick.interval_s) == (2, 6, 0.5)
    path.write_text(path.read_text().replace("max_hold_s = 900", "max_hold_s = 60"))
    with pytest.raises(StageError, match="bake_s <= max_hold_s"):
        load_bake_config(path)


def test_the_shipped_config_bakes_for_minutes_in_aws_on_p99():
    shipped = load_bake_config(Path(__file__).resolve().parents[4] / "quality_gates" / "delivery.toml")
    assert shipped.bake_s >= 60 and shipped.max_hold_s >= shipped.bake_s and shipped.latency_statistic == "p99"
