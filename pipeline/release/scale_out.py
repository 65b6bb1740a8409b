"""Progressive delivery in AWS scale-out mode: the steps of quality_gates/delivery.toml as Terraform applies.

The service stack has two target groups behind the load balancer, two *slots* ("live" is the one of
the variables image/model_version, "candidate" the one of the variable candidate); which one serves is
only the listener's weights, and Terraform is their only source (`candidate.weight`). A release goes
into the slot that does not serve:

1. plan (the configuration prod's approver sees): the serving slot unchanged, the new release in the
   other slot at full size and weight 0 (it replaces the release parked there). Refused while any
   alarm of either slot is in ALARM.
2. apply that plan, then for each weighted step plan the same configuration with only the weight
   changed, check that the plan changes nothing but the listeners (else refuse), apply, read the
   weights back from ELBv2 and bake: CloudWatch judges (pipeline.release.cloudwatch_judge).
3. promoted: the previous release stays parked in its slot at weight 0 with `parked_replicas`
   servers, so `python -m pipeline.rollback` is one apply of the weights (and sizes) back.
4. aborted (breach, inconclusive past the limit, an alarm): weight 0 and 0 servers for the new
   release in one apply; the serving slot is untouched. Interrupted (SIGTERM from a Jenkins abort):
   the weights alone back in one apply, then exit 130.
Every outcome writes reports/delivery.{json,xml} with the values that decided each step.
"""

from __future__ import annotations

import json
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from pipeline.errors import StageError
from pipeline.records import DeliveryReport, Release
from pipeline.release import cloudwatch_judge, cloudwatch_window
from pipeline.release.progressive import DeliveryConfig, Step, load_config, write_report
from pipeline.release.terraform import Terraform
from pipeline.reports import CheckResult
from pipeline.settings import PipelineSettings

SLOTS = ("live", "candidate")
# What a step apply may change after the approval: the listeners' weights; parking and aborting also
# resize the slots' groups (and the live group's CPU policy, which a parked group does without).
WEIGHTS_ONLY = ("module.server.aws_lb_listener.",)
WEIGHTS_AND_SIZES = (*WEIGHTS_ONLY, "module.server.aws_autoscaling_group.", "module.server.aws_autoscaling_policy.")


@dataclass(frozen=True)
class Slot:
    image: str
    model_version: str
    weight: int  # percent of the listener's requests
    replicas: int | None = None  # None: the stack's replicas (full size)

    def holds(self, release: Release) -> bool:
        return (self.image, self.model_version) == (release.image, release.model_version)


@dataclass(frozen=True)
class Layout:
    """The service stack's slots, alarms and CloudWatch dimensions, from its Terraform outputs."""

    slots: dict[str, Slot | None]
    alarms: dict[str, list[str]]
    load_balancer: str  # the LoadBalancer dimension: app/<name>/<id>
    target_groups: dict[str, str]  # slot -> the TargetGroup dimension
    endpoint_url: str

    @classmethod
    def of(cls, outputs: dict[str, Any]) -> Layout | None:
        """None without a scale-out stack (one server, nothing applied yet, or a stack before these outputs)."""
        slots, dimensions = outputs.get("release_slots"), outputs.get("cloudwatch_dimensions")
        if not slots or not dimensions:
            return None
        return cls(
            slots={
                name: None
                if s is None
                else Slot(
                    s["image"],
                    s["model_version"],
                    int(s["weight"]),
                    None if s["replicas"] is None else int(s["replicas"]),
                )
                for name, s in slots.items()
            },
            alarms=outputs.get("release_alarms") or {name: [] for name in SLOTS},
            load_balancer=dimensions["load_balancer"],
            target_groups=dimensions["target_groups"],
            endpoint_url=outputs["endpoint_url"],
        )

    def serving(self) -> str:
        return max(SLOTS, key=lambda name: self.slots[name].weight if self.slots[name] else -1)

    def holding(self, release: Release) -> str | None:
        return next((n for n in SLOTS if (s := self.slots[n]) is not None and s.holds(release)), None)

    def parked(self) -> str | None:
        """The slot that keeps the previous release at weight 0 with servers, if any."""
        name = other(self.serving())
        slot = self.slots[name]
        return name if slot is not None and slot.weight == 0 and slot.replicas != 0 else None


@dataclass(frozen=True)
class BakeConfig:
    bake_s: float
    max_hold_s: float
    interval_s: float
    period_s: int
    latency_statistic: str
    parked_replicas: int


def other(slot: str) -> str:
    return SLOTS[1 - SLOTS.index(slot)]


def load_bake_config(path: Path, hold_override: float | None = None) -> BakeConfig:
    """The [aws] table of quality_gates/delivery.toml; DELIVERY_HOLD_S shrinks the times (tests)."""
    try:
        aws = tomllib.loads(path.read_text(encoding="utf-8"))["aws"]
        config = BakeConfig(
            float(aws["bake_s"]),
            float(aws["max_hold_s"]),
            float(aws["interval_s"]),
            int(aws["period_s"]),
            str(aws["latency_statistic"]),
            int(aws["parked_replicas"]),
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise StageError(f"delivery config {path}: no usable [aws] table ({type(exc).__name__}: {exc})", 2) from None
    if config.max_hold_s < config.bake_s or config.bake_s < 0 or config.interval_s <= 0 or config.parked_replicas < 0:
        raise StageError(f"delivery config {path}: [aws] needs 0 <= bake_s <= max_hold_s, interval_s > 0", 2)
    if hold_override is not None:
        scale = hold_override / config.bake_s if config.bake_s else 1.0
        config = replace(
            config,
            bake_s=hold_override,
            max_hold_s=config.max_hold_s * scale,
            interval_s=min(config.interval_s, max(hold_override / 4, 0.2)),
        )
    return config


def variables(base: dict[str, Any], slots: dict[str, Slot | None]) -> dict[str, Any]:
    """The service stack's variables for these slots (the candidate slot's weight is the one variable)."""
    live, candidate = slots["live"], slots["candidate"]
    if live is None:
        raise StageError("scale-out: the live slot holds no release; infra/service's outputs are inconsistent")
    # A primitive -var is taken literally (null would be the string "null"): a full-size live slot is no value.
    sized = {} if live.replicas is None else {"live_replicas": live.replicas}
    return {
        **base,
        "image": live.image,
        "model_version": live.model_version,
        **sized,
        "candidate": None
        if candidate is None
        else {
            "image": candidate.image,
            "model_version": candidate.model_version,
            "weight": candidate.weight,
            "replicas": candidate.replicas,
        },
    }


def with_weight(slots: dict[str, Slot | None], name: str, percent: int, **sizes: int | None) -> dict[str, Slot | None]:
    """`percent` of the requests to slot `name`, the rest to the other; `sizes`: slot -> replicas."""
    weights = {name: percent, other(name): 100 - percent}
    return {
        n: None if s is None else replace(s, weight=weights[n], replicas=sizes.get(n, s.replicas))
        for n, s in slots.items()
    }


def firing_or_refuse(cloudwatch: Any, names: list[str], what: str) -> dict[str, str]:
    try:
        return cloudwatch_judge.firing(cloudwatch, names)
    except LookupError as exc:
        raise StageError(f"{what}: {exc}") from None


def rollout_variables(
    tf: Terraform, base: dict[str, Any], release: Release, log: Callable[[str], None]
) -> dict[str, Any]:
    """The configuration to plan (and approve) for `release`: with a scale-out release serving, the new one
    beside it at weight 0. Refuses while any alarm of either slot is in ALARM."""
    layout = Layout.of(tf.outputs())
    if layout is None:
        return base
    serving = layout.serving()
    if layout.slots[serving].holds(release):  # type: ignore[union-attr]
        return variables(base, layout.slots)  # a redeploy of what serves: nothing to change
    refuse_while_firing(layout, base["region"], log)
    free = other(serving)
    slots = dict(layout.slots)
    slots[free] = Slot(release.image, release.model_version, 0, None)
    log(
        f"scale-out: {release.model_version} goes into the {free} slot at weight 0 beside the serving {serving} slot "
        f"({slots[serving].model_version}); its steps are applied after this plan"
    )  # type: ignore[union-attr]
    return variables(base, slots)


def refuse_while_firing(layout: Layout, region: str, log: Callable[[str], None]) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=region)
    names = [name for slot in SLOTS for name in layout.alarms.get(slot, [])]
    firing = firing_or_refuse(cloudwatch, names, "refusing to start the rollout")
    if firing:
        name, reason = next(iter(firing.items()))
        raise StageError(f"refusing to start the rollout: alarm {name} is in ALARM ({reason or 'no reason given'})")
    log(f"scale-out: none of the {len(names)} alarms of both target groups is in ALARM")


class ScaleOutDelivery:
    """One release's steps in AWS scale-out mode, over the service stack `tf`."""

    def __init__(
        self,
        tf: Terraform,
        base: dict[str, Any],
        settings: PipelineSettings,
        log: Callable[[str], None],
        bake: BakeConfig | None = None,
    ) -> None:
        self.tf, self.base, self.settings, self.log = tf, base, settings, log
        self.config: DeliveryConfig = load_config(settings.delivery_file, settings.delivery_hold_s)
        self.bake = bake or load_bake_config(settings.delivery_file, settings.delivery_hold_s)
        self.plan_file = settings.terraform_dir / settings.project_env / "service-step.tfplan"
        self.cloudwatch = boto3.client("cloudwatch", region_name=settings.aws_default_region)
        self.elbv2 = boto3.client("elbv2", region_name=settings.aws_default_region)
        self.started = time.monotonic()

    # --- Terraform: one configuration, only weights and sizes change --------------------------------

    def apply(self, slots: dict[str, Slot | None], allowed: tuple[str, ...], layout: Layout) -> dict[str, int]:
        """Plan `slots`, refuse a plan that changes more than `allowed`, apply it; the weights read back."""
        if self.tf.plan(variables(self.base, slots), self.plan_file):
            plan = json.loads(self.tf.run("show", "-json", str(self.plan_file.resolve()), quiet=True).stdout)
            changed = [
                r["address"]
                for r in plan.get("resource_changes", [])
                if r.get("mode") == "managed" and r["change"]["actions"] != ["no-op"]
            ]
            if outside := [a for a in changed if not a.startswith(allowed)]:
                raise StageError(
                    f"a step apply would change {', '.join(outside)}: only the listener weights "
                    "(and the slots' sizes) may change after the approved plan; plan and approve again"
                )
            self.tf.apply(self.plan_file)
        weights = listener_weights(self.elbv2, layout)
        expected = {name: s.weight if s else 0 for name, s in slots.items()}
        if weights != expected:
            raise StageError(f"the load balancer forwards {weights} after the apply, not {expected}")
        return weights

    # --- the rollout ---------------------------------------------------------------------------------

    def deliver(self, release: Release) -> dict[str, Any] | None:
        """Walk the steps for `release` (already applied at weight 0 in its slot); None when no step is due.
        Returns the final weights by slot; raises StageError on an abort."""
        layout = Layout.of(self.tf.outputs())
        if layout is None:
            return None
        new, serving = layout.holding(release), layout.serving()
        if new is None or new == serving:
            return None
        self.champion = {"slot": serving, **_release_of(layout.slots[serving]), "url": layout.endpoint_url}
        self.candidate = {"slot": new, **_release_of(layout.slots[new]), "url": layout.endpoint_url}
        steps: list[dict[str, Any]] = []
        self.log(
            f"progressive delivery in AWS ({self.config.path}): "
            + " -> ".join(s.name for s in self.config.steps if not s.shadow)
            + f", {self.bake.bake_s:g}s bakes judged by CloudWatch; champion {self.champion['model_version']}"
            f" ({serving} slot), candidate {self.candidate['model_version']} ({new} slot)"
        )
        try:
            firing = firing_or_refuse(
                self.cloudwatch, [n for s in SLOTS for n in layout.alarms.get(s, [])], "refusing to start the rollout"
            )
            if firing:
                name, reason = next(iter(firing.items()))
                check = CheckResult("start.alarms", False, name, "none in ALARM", reason)
                steps.append(
                    {"name": "start", "weight": 0, "seconds": 0, "measurements": {}, "checks": [check.__dict__]}
                )
                self._abort(layout, new, steps, "start", f"refusing to start the rollout: alarm {name} is in ALARM")
            baseline: dict[str, Any] | None = None
            for step in self.config.steps:
                if step.shadow:
                    self.log(f"step {step.name}: skipped in AWS (no replay to the releases' own addresses)")
                    continue
                record, verdict, baseline = self._step(layout, new, step, baseline)
                steps.append(record)
                if verdict.outcome != "pass":
                    self._abort(layout, new, steps, step.name, verdict.reason)
        except KeyboardInterrupt:
            self.log("interrupted: putting all traffic back on the champion before exiting")
            # The weights only: the smallest apply, done before a Jenkins abort escalates to SIGKILL. The
            # candidate's group stays up at weight 0 until the next deploy takes its slot.
            self.apply(with_weight(layout.slots, serving, 100), WEIGHTS_ONLY, layout)
            self._report(steps, False, {serving: 100, new: 0}, aborted_at="interrupted", breach="interrupted")
            raise
        final = self.apply(
            with_weight(layout.slots, new, 100, **{new: None, serving: self.bake.parked_replicas}),
            WEIGHTS_AND_SIZES,
            layout,
        )
        self.log(
            f"promoted: {self.candidate['model_version']} serves ({new} slot); the previous release stays parked "
            f"in the {serving} slot at weight 0 on {self.bake.parked_replicas} server(s) for a rollback"
        )
        self._report(steps, True, final)
        return final

    def _step(
        self, layout: Layout, new: str, step: Step, baseline: dict[str, Any] | None
    ) -> tuple[dict[str, Any], cloudwatch_judge.Verdict, dict[str, Any] | None]:
        weights = self.apply(with_weight(layout.slots, new, step.weight), WEIGHTS_ONLY, layout)
        window_start = datetime.now(UTC)
        step_started = time.monotonic()
        self.log(f"step {step.name}: the listener forwards {weights}; baking {self.bake.bake_s:g}s")
        bake_end, hold_end = step_started + self.bake.bake_s, step_started + self.bake.max_hold_s
        serving = other(new)
        held = False
        while True:
            alarms = firing_or_refuse(self.cloudwatch, layout.alarms.get(new, []), f"step {step.name}")
            end = datetime.now(UTC) + timedelta(seconds=self.bake.period_s)
            candidate = self._measure(layout, new, window_start, end)
            # With all the traffic on the candidate the baseline is the serving group's previous window.
            if step.weight < 100 or baseline is None:
                baseline = self._measure(layout, serving, window_start, end)
            behaviours = self._behaviours(step, window_start, end)
            verdict = cloudwatch_judge.judge(
                step.name, candidate, baseline, alarms, self.config.limits, self.config.min_requests, behaviours
            )
            now = time.monotonic()
            if verdict.outcome == "breach" or (verdict.outcome == "pass" and now >= bake_end) or now >= hold_end:
                break
            if verdict.outcome == "inconclusive" and now >= bake_end and not held:
                self.log(f"step {step.name}: {verdict.reason}; holding up to {hold_end - now:.0f}s more")
                held = True
            time.sleep(min(self.bake.interval_s, max(0.0, (bake_end if now < bake_end else hold_end) - now)))
        if verdict.outcome == "inconclusive":
            verdict = replace(
                verdict,
                reason=f"{verdict.reason}, after holding {now - step_started:.0f}s "
                f"(max_hold_s {self.bake.max_hold_s:g}), and inconclusive is never a pass",
            )
        record = {
            "name": step.name,
            "weight": step.weight,
            "bake_s": self.bake.bake_s,
            "seconds": round(time.monotonic() - step_started, 2),
            "weights": weights,
            "measurements": {
                "candidate": candidate,
                "champion": baseline,
                "candidate_alarms": alarms,
                "behaviour": None if behaviours is None else {"candidate": behaviours[0], "champion": behaviours[1]},
            },
            "verdict": verdict.outcome,
            "checks": [c.__dict__ for c in verdict.checks],
        }
        self.log(
            f"step {step.name}: {verdict.outcome}; candidate {_numbers(candidate, behaviours, 0)}; "
            f"baseline {_numbers(baseline, behaviours, 1)}"
        )
        return record, verdict, baseline

    def _behaviours(self, step: Step, start: datetime, end: datetime) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """Both releases' model behaviour from their EMF metrics; None when there is nothing to compare: all
        the traffic on the candidate, or one model version in both slots (the same model behaves the same)."""
        versions = (self.candidate["model_version"], self.champion["model_version"])
        if step.weight >= 100 or versions[0] == versions[1]:
            return None
        service = cloudwatch_window.service_dimension(self.settings)
        candidate, champion = (cloudwatch_judge.behaviour(self.cloudwatch, service, v, start, end) for v in versions)
        return candidate, champion

    def _measure(self, layout: Layout, slot: str, start: datetime, end: datetime) -> dict[str, Any]:
        return cloudwatch_judge.measure(
            self.cloudwatch,
            layout.load_balancer,
            layout.target_groups[slot],
            start,
            end,
            self.bake.period_s,
            self.bake.latency_statistic,
        )

    def _abort(self, layout: Layout, new: str, steps: list[dict[str, Any]], at: str, reason: str) -> None:
        serving = other(new)
        self.log(f"step {at}: {reason}: aborting, all traffic back on {self.champion['model_version']}")
        weights = self.apply(with_weight(layout.slots, serving, 100, **{new: 0}), WEIGHTS_AND_SIZES, layout)
        back = CheckResult(
            "abort.weights",
            weights == {serving: 100, new: 0},
            json.dumps(weights, sort_keys=True),
            f"{serving} 100, {new} 0",
            "read back from the load balancer; the candidate's group at 0",
        )
        steps.append(
            {
                "name": "abort",
                "weight": 0,
                "seconds": 0,
                "weights": weights,
                "measurements": {},
                "checks": [back.__dict__],
            }
        )
        self._report(steps, False, weights, aborted_at=at, breach=reason)
        raise StageError(
            f"release aborted at step {at}: {reason}; traffic is back on {self.champion['model_version']} "
            f"(weights read back: {serving} 100, {new} 0); report {self.settings.reports_dir / 'delivery.json'}"
        )

    def _report(self, steps: list[dict[str, Any]], passed: bool, final: dict[str, int], **outcome: str) -> None:
        report = DeliveryReport(
            endpoint_url=self.champion["url"],
            champion=self.champion,
            candidate=self.candidate,
            config_file=str(self.config.path),
            passed=passed,
            steps=steps,
            final_weights=final,
            **outcome,
        )
        write_report(self.settings.reports_dir, report, time.monotonic() - self.started)


def restore_parked(
    tf: Terraform, base: dict[str, Any], release: Release, settings: PipelineSettings, log: Callable[[str], None]
) -> dict[str, int] | None:
    """Rollback: all traffic (and full size) back to the parked slot if it holds `release`, in one apply;
    the release that served is parked in its turn. None when `release` is not parked."""
    layout = Layout.of(tf.outputs())
    parked = layout.parked() if layout else None
    if layout is None or parked is None or not layout.slots[parked].holds(release):  # type: ignore[union-attr]
        return None
    delivery = ScaleOutDelivery(tf, base, settings, log)
    serving = other(parked)
    sizes = {parked: None, serving: delivery.bake.parked_replicas}
    return delivery.apply(with_weight(layout.slots, parked, 100, **sizes), WEIGHTS_AND_SIZES, layout)


def listener_weights(elbv2: Any, layout: Layout) -> dict[str, int]:
    """Slot -> weight, as the load balancer's listeners forward (every forwarding listener must agree)."""
    name = layout.load_balancer.split("/")[1]
    (balancer,) = elbv2.describe_load_balancers(Names=[name])["LoadBalancers"]
    slot_of = {suffix: slot for slot, suffix in layout.target_groups.items()}
    seen = []
    for listener in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]:
        for action in listener["DefaultActions"]:
            if action["Type"] == "forward" and "ForwardConfig" in action:
                groups = action["ForwardConfig"]["TargetGroups"]
                seen.append({slot_of[g["TargetGroupArn"].split(":")[-1]]: int(g.get("Weight", 1)) for g in groups})
    if not seen or any(w != seen[0] for w in seen):
        raise StageError(f"the load balancer's listeners do not forward one split: {seen}")
    return seen[0]


def _release_of(slot: Slot | None) -> dict[str, Any]:
    if slot is None:
        raise StageError("scale-out: a slot expected to hold a release is empty")
    return {"image": slot.image, "model_version": slot.model_version}


def _numbers(group: dict[str, Any], behaviours: tuple[dict[str, Any], ...] | None, role: int) -> str:
    rate, p99 = group["error_rate"], group["p99_ms"]
    text = (
        f"{group['requests']} requests, 5xx rate {'-' if rate is None else f'{rate:.4f}'}, "
        f"{group['latency_statistic']} {'-' if p99 is None else f'{p99:.1f}'} ms"
    )
    if behaviours is None:
        return text
    share = behaviours[role]["positive_share"]
    return f"{text}, positive share {'-' if share is None else f'{share:.2f}'} of {behaviours[role]['predictions']}"
