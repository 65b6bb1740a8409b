"""AWS scale-out delivery (pipeline.release.scale_out) against moto_server and real Terraform, on ONE stack,
in order (each test starts from the state the previous one left):

1. release B is promoted through 10% -> 50% -> 100%, each step one apply whose weights the ELBv2 API reads
   back, judged on metrics put as the load balancer publishes them and on each release's model behaviour
   (EMF metrics put as CloudWatch extracts them); A stays parked (weight 0, 1 server);
2. the rollback to A is one apply (its time is printed);
3. an alarm already in ALARM (on the serving group) refuses the next rollout at plan time, naming it;
4. release C: its candidate 5xx alarm set to ALARM at 10% (set_alarm_state) aborts: weights 100/0 read back,
   its group at 0 servers, delivery.json/xml with the value that tripped it;
5. release D: a SIGTERM at 10%, through pipeline.errors, puts the weights back and exits 130;
6. release E: no traffic at 10% is inconclusive: held up to max_hold_s, then aborted, saying so.
The emulator's instances never boot and nothing sends requests: see docs/how-to/deploy-to-aws.md.
"""

import importlib.util
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import boto3
import pytest

from pipeline import errors
from pipeline.errors import StageError
from pipeline.release import scale_out

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("terraform") is None, reason="NOT TESTED: terraform is not installed (>= 1.5)"),
]
SCENARIO = Path(__file__).resolve().parents[3] / "docs" / "scenarios" / "aws_canary.py"
_spec = importlib.util.spec_from_file_location("aws_canary", SCENARIO)
aws_canary = sys.modules.setdefault("aws_canary", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(aws_canary)
A, B, C, D, E = (aws_canary.release(c * 12) for c in "abcde")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with aws_canary.emulated_stack(tmp_path_factory.mktemp("aws-delivery"), A) as emulated:
        yield emulated


def weights(stack):
    return scale_out.listener_weights(boto3.client("elbv2", region_name=aws_canary.REGION), stack.layout())


def group_sizes(stack):
    autoscaling = boto3.client("autoscaling", region_name=aws_canary.REGION)
    name = f"{stack.settings.project_name}-local"
    groups = {g["AutoScalingGroupName"]: g for g in autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]}
    names = {"live": name, "candidate": f"{name}-candidate"}
    return {slot: groups[group]["DesiredCapacity"] for slot, group in names.items()}


def report(stack):
    return json.loads((stack.settings.reports_dir / "delivery.json").read_text())


def test_a_healthy_release_is_promoted_step_by_step_and_the_previous_stays_parked(stack):
    seen = []

    def traffic(step, slot):
        seen.append((step, weights(stack)))  # what the ELBv2 API says right after the step's apply
        stack.healthy_traffic(step, slot)

    stack.approve(B)
    final = stack.deliver(B, traffic)
    assert seen == [("10%", {"live": 90, "candidate": 10}), ("50%", {"live": 50, "candidate": 50}),
                    ("100%", {"live": 0, "candidate": 100})]  # fmt: skip
    assert final == weights(stack) == {"live": 0, "candidate": 100}
    assert group_sizes(stack) == {"live": 1, "candidate": 2}, "A parked on one server, B at full size"
    delivered = report(stack)
    assert delivered["passed"] is True and [s["name"] for s in delivered["steps"]] == ["10%", "50%", "100%"]
    ten = delivered["steps"][0]
    assert ten["measurements"]["candidate"]["requests"] == 40 and ten["measurements"]["champion"]["requests"] == 360
    assert {c["name"]: c["value"] for c in ten["checks"]} == {"10%.alarms": "none", "10%.error_rate": 0.0,
                                                              "10%.p99_ms": 40.0, "10%.positive_share_delta": 0.0,
                                                              "10%.score_distance": 0.0}  # fmt: skip
    behaviour = ten["measurements"]["behaviour"]  # each release's own EMF metrics, by model version
    assert (behaviour["candidate"]["predictions"], behaviour["champion"]["predictions"]) == (40, 360)
    assert delivered["steps"][2]["measurements"]["behaviour"] is None, "at 100% there is no champion to compare"


def test_the_rollback_to_the_parked_release_is_one_apply(stack, monkeypatch):
    applies = []
    original = stack.tf.apply
    monkeypatch.setattr(stack.tf, "apply", lambda plan: applies.append(plan) or original(plan))
    started = time.monotonic()
    restored = scale_out.restore_parked(stack.tf, stack.base, A, stack.settings, stack.log)
    seconds = time.monotonic() - started
    print(f"rollback to the parked release against the emulator: {seconds:.1f}s, {len(applies)} apply")
    assert restored == weights(stack) == {"live": 100, "candidate": 0}
    assert len(applies) == 1
    assert group_sizes(stack) == {"live": 2, "candidate": 1}, "A back at full size, B parked in its turn"
    assert scale_out.restore_parked(stack.tf, stack.base, C, stack.settings, stack.log) is None, "C is not parked"


def test_an_alarm_already_in_alarm_refuses_the_rollout(stack):
    name = f"{stack.settings.project_name}-local-live-p99-latency"
    stack.set_alarm(name, "ALARM")
    try:
        with pytest.raises(StageError, match=rf"^refusing to start the rollout: alarm {name} is in ALARM"):
            stack.approve(C)
    finally:
        stack.set_alarm(name, "OK")
    assert weights(stack) == {"live": 100, "candidate": 0}
    assert stack.layout().slots["candidate"].holds(B), "nothing was applied"


def test_a_candidate_alarm_at_ten_percent_aborts_with_the_champion_untouched(stack):
    def alarm_at_ten(step, slot):
        stack.healthy_traffic(step, slot)
        stack.set_alarm(f"{stack.settings.project_name}-local-{slot}-5xx-rate", "ALARM")

    stack.approve(C)
    try:
        with pytest.raises(StageError, match=r"^release aborted at step 10%: 10%\.alarms = .*-candidate-5xx-rate"):
            stack.deliver(C, alarm_at_ten)
    finally:
        stack.set_alarm(f"{stack.settings.project_name}-local-candidate-5xx-rate", "OK")
    assert weights(stack) == {"live": 100, "candidate": 0}
    assert group_sizes(stack) == {"live": 2, "candidate": 0}
    assert stack.layout().slots["live"].holds(A)
    delivered = report(stack)
    assert (delivered["passed"], delivered["aborted_at"]) == (False, "10%")
    assert [s["name"] for s in delivered["steps"]] == ["10%", "abort"]
    assert delivered["steps"][0]["measurements"]["candidate_alarms"]
    junit = (stack.settings.reports_dir / "delivery.xml").read_text()
    assert 'failures="1"' in junit and "candidate-5xx-rate" in junit


def test_a_sigterm_at_ten_percent_puts_the_weights_back_and_exits_130(stack):
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

    def terminate_at_ten(step, slot):
        assert weights(stack) == {"live": 90, "candidate": 10}
        os.kill(os.getpid(), signal.SIGTERM)  # Jenkins aborting the build

    def deploy(argv):
        stack.approve(D)
        stack.deliver(D, terminate_at_ten)
        return 0

    try:
        assert errors.run("deploy", deploy) == 130
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert weights(stack) == {"live": 100, "candidate": 0}
    assert report(stack)["aborted_at"] == "interrupted"


def test_too_little_traffic_is_held_then_aborted_as_inconclusive(stack):
    stack.approve(E)
    started = time.monotonic()
    held = r"aborted at step 10%: inconclusive: candidate answered 0 requests.*after holding \d+s \(max_hold_s 6\)"
    with pytest.raises(StageError, match=held + ", and inconclusive is never a pass"):
        stack.deliver(E, lambda step, slot: None)
    assert time.monotonic() - started >= 6, "held up to max_hold_s before aborting"
    assert weights(stack) == {"live": 100, "candidate": 0}
    assert report(stack)["steps"][0]["verdict"] == "inconclusive"
