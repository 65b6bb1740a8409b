"""One-server blue/green: reading the slots from Terraform's outputs (fail closed) and the variables of each move."""

import pytest

from pipeline.environments import aws_blue_green
from pipeline.environments.aws_blue_green import Slots
from pipeline.errors import StageError

A = {"image": "r.example.com/app:a-aaaaaaaaaaaa", "model_version": "aaaaaaaaaaaa"}
B = {"image": "r.example.com/app:b-bbbbbbbbbbbb", "model_version": "bbbbbbbbbbbb"}


def slot(release, live, running=True, instance="i-1"):
    return {**release, "instance_id": instance, "running": running, "live": live}


def outputs(**slots):
    return {"endpoint_url": "http://198.51.100.7:8000", "slots": slots}


def test_a_stack_never_applied_has_nothing_live_and_the_first_release_goes_live_in_blue():
    slots = Slots.from_outputs({})
    assert (slots.live, slots.standby) == (None, None)
    assert aws_blue_green.boot_beside(slots, A) == {"live_slot": "blue", **A, "standby": None}


def test_a_new_release_boots_in_the_other_slot_and_the_live_one_keeps_the_endpoint():
    slots = Slots.from_outputs(outputs(green=slot(A, live=True), blue=slot(A, live=False, running=False)))
    assert aws_blue_green.boot_beside(slots, B) == {"live_slot": "green", **A, "standby": {**B, "running": True}}


def test_the_switch_flips_the_live_slot_and_parks_the_old_release_stopped():
    slots = Slots.from_outputs(outputs(blue=slot(A, live=True), green=slot(B, live=False)))
    assert aws_blue_green.switch(slots) == {"live_slot": "green", **B, "standby": {**A, "running": False}}
    parked = Slots.from_outputs(outputs(green=slot(B, live=True), blue=slot(A, live=False, running=False)))
    assert parked.parked.model_version == A["model_version"]
    # The rollback is the same move back.
    assert aws_blue_green.switch(parked) == {"live_slot": "blue", **A, "standby": {**B, "running": False}}


def test_a_redeploy_of_the_live_release_keeps_the_parked_one():
    slots = Slots.from_outputs(outputs(blue=slot(A, live=True), green=slot(B, live=False, running=False)))
    assert aws_blue_green.boot_beside(slots, A) == {"live_slot": "blue", **A, "standby": {**B, "running": False}}


def test_a_running_standby_is_a_candidate_not_a_parked_release():
    slots = Slots.from_outputs(outputs(blue=slot(A, live=True), green=slot(B, live=False)))
    assert slots.parked is None
    assert aws_blue_green.without_standby(slots) == {"live_slot": "blue", **A, "standby": None}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (outputs(blue=slot(A, live=True), green=slot(B, live=True)), "inconsistent"),
        (outputs(blue=slot(A, live=False), green=slot(B, live=False)), "inconsistent"),
        (outputs(blue=slot(A, live=True, running=False)), "inconsistent"),
        (outputs(purple=slot(A, live=True)), "inconsistent"),
        (outputs(blue={"image": "x", "live": True}), "unreadable"),
        ({"endpoint_url": "http://x", "slots": ["blue"]}, "unreadable"),
        ({"endpoint_url": "http://x", "slots": None, "autoscaling_group_name": "g"}, "scale-out"),
        ({"endpoint_url": "http://x", "instance_id": "i-1"}, "predates blue/green"),
    ],
)
def test_slots_terraform_does_not_state_clearly_stop_the_pipeline(doc, message):
    with pytest.raises(StageError, match=message):
        Slots.from_outputs(doc)


def test_nothing_to_switch_to_is_refused():
    with pytest.raises(StageError, match="nothing to switch to"):
        aws_blue_green.switch(Slots.from_outputs(outputs(blue=slot(A, live=True))))
