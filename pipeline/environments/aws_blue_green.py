"""One-server mode in AWS (replicas = 1): blue/green behind the Elastic IP.

infra/modules/server has two instance slots, blue and green. The live slot runs the release the
Elastic IP (the stable endpoint) points at; the other slot holds the standby release: a new one
booting beside the live one, or the previous one parked (stopped) for a rollback. Terraform's
state is the one source of truth: which slot is live is read from the stack's `slots` output
(unreadable or inconsistent: the pipeline stops), and every move is an apply of the variables
`live_slot`, `image`/`model_version` (the live slot's release) and `standby`.

A release: (1) the deploy's plan boots the new release in the standby slot, the endpoint untouched;
(2) its own address answers /ready naming its model version, or it is removed and the deploy
fails with the endpoint where it was; (3) one apply flips `live_slot`: the new instance is running,
the Elastic IP moves to it (one AssociateAddress call), then the previous one is stopped (parked).
A rollback is one apply flipping `live_slot` back (the parked instance is started first).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline import http_client
from pipeline.environments.base import ServiceStack
from pipeline.errors import StageError

SLOTS = ("blue", "green")


@dataclass(frozen=True)
class Slot:
    name: str  # blue or green
    instance_id: str
    image: str
    model_version: str
    running: bool
    live: bool

    def release(self) -> dict[str, str]:
        return {"image": self.image, "model_version": self.model_version}

    def holds(self, release: Mapping[str, Any]) -> bool:
        return self.image == release["image"] and self.model_version == release["model_version"]


@dataclass(frozen=True)
class Slots:
    """The two slots as Terraform last applied them."""

    live: Slot | None  # None: nothing deployed yet
    standby: Slot | None  # None: no second instance

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any]) -> Slots:
        """Read the stack's outputs; anything that is not one live slot and at most one standby stops here."""
        if not outputs:
            return cls(None, None)  # a stack never applied
        if "slots" not in outputs:
            if outputs.get("instance_id"):  # state written before blue/green: its instance is the blue slot
                raise StageError(
                    "infra/service's state predates blue/green (no `slots` output): run `terraform apply` of "
                    "infra/service once with the current image and model version to record the slots, then deploy",
                    exit_code=2,
                )
            return cls(None, None)
        raw = outputs["slots"]
        if raw is None:
            raise StageError("infra/service runs in scale-out mode (replicas > 1), not one server", exit_code=2)
        try:
            slots = [
                Slot(name, str(s["instance_id"]), str(s["image"]), str(s["model_version"]),
                     bool(s["running"]), bool(s["live"]))
                for name, s in raw.items()
            ]  # fmt: skip
        except (AttributeError, KeyError, TypeError) as exc:
            raise StageError(f"infra/service's `slots` output is unreadable ({exc!r}): not deploying", 2) from None
        live = [s for s in slots if s.live]
        standby = [s for s in slots if not s.live]
        if len(live) != 1 or len(standby) > 1 or not {s.name for s in slots} <= set(SLOTS) or not live[0].running:
            raise StageError(f"infra/service's `slots` output is inconsistent ({raw}): not deploying", exit_code=2)
        return cls(live[0], standby[0] if standby else None)

    @property
    def parked(self) -> Slot | None:
        """The previous release, kept (stopped) for a rollback."""
        return self.standby if self.standby is not None and not self.standby.running else None


def _variables(live_slot: str, live: Mapping[str, str], standby: Mapping[str, str] | None, running: bool) -> dict:
    return {
        "live_slot": live_slot,
        "image": live["image"],
        "model_version": live["model_version"],
        "standby": None if standby is None else {**standby, "running": running},
    }


def boot_beside(slots: Slots, release: Mapping[str, str]) -> dict[str, Any]:
    """The deploy's variables: the new release boots in the standby slot; the live one keeps the endpoint.
    With nothing deployed yet, the new release is the live one at once (blue)."""
    if slots.live is None:
        return _variables("blue", release, None, False)
    if slots.live.holds(release):
        parked = slots.parked
        return _variables(slots.live.name, release, parked.release() if parked else None, False)  # a redeploy
    return _variables(slots.live.name, slots.live.release(), release, True)


def switch(slots: Slots) -> dict[str, Any]:
    """The endpoint moves to the standby slot; the live one is parked (stopped). Also a rollback."""
    if slots.live is None or slots.standby is None:
        raise StageError("blue/green: no release stands beside the live one; nothing to switch to")
    return _variables(slots.standby.name, slots.standby.release(), slots.live.release(), False)


def without_standby(slots: Slots) -> dict[str, Any]:
    """Only the live release; the standby instance is terminated."""
    if slots.live is None:
        raise StageError("blue/green: nothing is deployed")
    return _variables(slots.live.name, slots.live.release(), None, False)


def wait_ready(url: str, model_version: str, deadline_s: float, log: Callable[[str], None]) -> str | None:
    """Poll url/ready until it answers 200 naming model_version (None), or say why not at the deadline."""
    end = time.monotonic() + deadline_s
    delay, last = 1.0, "no answer yet"
    while True:
        # A loop, not urllib3's Retry: a 200 naming another model is waited out too.
        try:
            answer = http_client.fetch(f"{url}/ready", timeout=5)
            answered = json.loads(answer.content or b"{}").get("model_version") if answer.status_code == 200 else None
            if answered == model_version:
                return None
            last = (
                f"/ready answered {answer.status_code}"
                if answer.status_code != 200
                else (f"/ready names model {answered!r}, not {model_version}")
            )
        except (OSError, ValueError) as exc:
            last = f"/ready unreachable ({exc})"
        if time.monotonic() + delay > end:
            return last
        log(f"waiting for {url}/ready: {last}")
        time.sleep(delay)
        delay = min(delay * 2, 30.0)


@dataclass
class BlueGreen:
    """The blue/green moves of one stack. `address_of` gives the base URL of an instance's own address
    (its public IP and the service port), where a new release is checked before it gets the endpoint."""

    stack: ServiceStack
    address_of: Callable[[str], str]
    deadline_s: float
    log: Callable[[str], None]

    def slots(self) -> Slots:
        return Slots.from_outputs(self.stack.outputs())

    def promote(self, release: Mapping[str, str]) -> tuple[str, Slots]:
        """After the deploy's apply: check the new release on its own address, then move the endpoint to it.
        Returns the endpoint and the slots after the move. A failing check removes the new instance."""
        slots = self.slots()
        if slots.live is not None and slots.live.holds(release):
            return self.stack.outputs()["endpoint_url"], slots  # first deploy or a redeploy: already live
        standby = slots.standby
        if standby is None or not standby.running or not standby.holds(release):
            raise StageError(f"blue/green: the release {release['model_version']} is neither live nor booted beside it")
        url = self.address_of(standby.instance_id)
        self.log(f"checking the new release on its own address {url} (slot {standby.name}); the endpoint stays put")
        problem = wait_ready(url, release["model_version"], self.deadline_s, self.log)
        if problem is not None:
            self.stack.apply(without_standby(slots))
            raise StageError(
                f"the new release in slot {standby.name} ({url}) failed its check: {problem}; it was removed "
                f"and the endpoint stays on {slots.live.model_version if slots.live else 'nothing'}"
            )
        return self._move(slots)

    def restore(self) -> tuple[str, Slots] | None:
        """The endpoint back on the parked release in one apply; None when nothing is parked."""
        slots = self.slots()
        if slots.parked is None:
            return None
        return self._move(slots)

    def retire(self) -> bool:
        """Terminate the parked release's instance; True if there was one."""
        slots = self.slots()
        if slots.standby is None:
            return False
        self.stack.apply(without_standby(slots))
        return True

    def _move(self, slots: Slots) -> tuple[str, Slots]:
        if slots.live is None or slots.standby is None:
            raise StageError("blue/green: nothing stands beside the live release; nothing to move to")
        started = time.monotonic()
        outputs = self.stack.apply(switch(slots))
        after = Slots.from_outputs(outputs)
        if after.live is None or after.live.name != slots.standby.name:
            raise StageError(f"blue/green: after the switch Terraform says slot {after.live} is live, not "
                             f"{slots.standby.name}")  # fmt: skip
        self.log(
            f"the endpoint moved from slot {slots.live.name} ({slots.live.model_version}) to slot "
            f"{after.live.name} ({after.live.model_version}) in one apply ({time.monotonic() - started:.0f}s); "
            f"slot {slots.live.name} is parked (stopped) for a rollback"
        )
        return outputs["endpoint_url"], after
