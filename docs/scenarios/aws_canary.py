"""AWS scale-out delivery against the emulator: one release promoted through every step, two aborted at 10%.

    .venv/bin/python docs/scenarios/aws_canary.py [--keep DIR]

What runs for real: moto (the AWS emulator, in this process with one of its bugs fixed, see
`fixed_emulator`) on loopback, Terraform applying infra/service in scale-out mode (2 replicas, ALB,
two target groups, the alarms of both), and the pipeline's own delivery code
(pipeline.release.scale_out): the plan a prod approver would approve, one apply per step, weights
read back from ELBv2, bakes judged from CloudWatch. What is played: the emulator's
instances never boot and nothing sends requests, so this script puts the metrics the load balancer
would publish (AWS/ApplicationELB, per TargetGroup and LoadBalancer) and the EMF lines the servers
would write (sentiment.emf, per ModelVersion: the model's behaviour) during each bake, as CloudWatch
extracts them, and sets the candidate's 5xx alarm to ALARM with set_alarm_state, as AWS documents for
testing rollback alarms.
Bakes are 2 seconds (DELIVERY_HOLD_S); the moto CloudWatch computes no percentiles, so TargetResponseTime
is read as its Maximum (an upper bound of its p99). The third release's model labels
almost every text positive: its EMF metrics, not an alarm, abort it. It prints the values that
decided each step (reports/delivery.json). About five minutes, most of it Terraform.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import boto3  # noqa: E402
from moto.ec2.models import launch_templates  # noqa: E402
from moto.ec2.utils import Base64EncodedString, parse_user_data  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from pipeline import environments  # noqa: E402
from pipeline.environments import emulator, processes  # noqa: E402
from pipeline.errors import StageError  # noqa: E402
from pipeline.records import Release  # noqa: E402
from pipeline.release import cloudwatch_window, scale_out, stacks  # noqa: E402
from pipeline.release.terraform import Terraform  # noqa: E402
from pipeline.settings import PipelineSettings  # noqa: E402
from sentiment.emf import Recorder  # noqa: E402
from sentiment.monitoring import TextFeatures  # noqa: E402

REGION = "eu-west-1"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sentiment-api-local:{tag}"
HOLD_S = 2.0


@dataclass
class EmulatedStack:
    """infra/service in scale-out mode on the emulator, serving release `first`."""

    root: Path
    settings: PipelineSettings
    tf: Terraform
    base: dict[str, Any]
    log: Callable[[str], None]

    @property
    def cloudwatch(self) -> Any:
        return boto3.client("cloudwatch", region_name=REGION)

    def layout(self) -> scale_out.Layout:
        layout = scale_out.Layout.of(self.tf.outputs())
        assert layout is not None, "not a scale-out stack"
        return layout

    def bake(self) -> scale_out.BakeConfig:
        # The emulator's CloudWatch has no percentiles: Maximum bounds the p99 from above.
        config = scale_out.load_bake_config(self.settings.delivery_file, self.settings.delivery_hold_s)
        return replace(config, latency_statistic="Maximum")

    def approve(self, release: Release) -> None:
        """What deploy --plan-only and --apply-plan do: plan the release beside the serving one, apply that plan."""
        values = scale_out.rollout_variables(self.tf, self.base, release, self.log)
        plan = self.root / "approved.tfplan"
        if self.tf.plan(values, plan):
            self.tf.apply(plan)

    def deliver(self, release: Release, on_step: Callable[[str, str], None]) -> dict[str, int] | None:
        """The steps; `on_step(step, candidate slot)` runs as each bake starts (the scenario's traffic)."""

        def log(message: str) -> None:
            self.log(message)
            if message.startswith("step ") and ": the listener forwards" in message:
                on_step(message.split()[1].rstrip(":"), self.layout().holding(release) or "")

        delivery = scale_out.ScaleOutDelivery(self.tf, self.base, self.settings, log, bake=self.bake())
        return delivery.deliver(release)

    def publish(self, slot: str, requests: int, errors: int = 0, latency_s: float = 0.04) -> None:
        """One minute of a target group's traffic as the load balancer publishes it."""
        layout = self.layout()
        dimensions = [
            {"Name": "TargetGroup", "Value": layout.target_groups[slot]},
            {"Name": "LoadBalancer", "Value": layout.load_balancer},
        ]
        data = [
            {"MetricName": "RequestCount", "Dimensions": dimensions, "Value": requests, "Unit": "Count"},
            {"MetricName": "TargetResponseTime", "Dimensions": dimensions, "Value": latency_s, "Unit": "Seconds"},
        ]
        if errors:  # the ALB publishes no 5XX datapoint for a minute without one
            data.append({"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": dimensions, "Value": errors})
        self.cloudwatch.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data)

    def predictions(self, slot: str, count: int, positive_share: float) -> None:
        """The EMF lines the slot's servers write for `count` scored texts, as CloudWatch extracts them."""
        release = self.layout().slots[slot]
        assert release is not None, f"the {slot} slot holds no release"
        service = cloudwatch_window.service_dimension(self.settings)
        recorder = Recorder(service, release.model_version, model_created=0.0)
        positives = round(count * positive_share)
        for i in range(count):
            score = 0.8 if i < positives else 0.2
            recorder.request("/predict", 200, 0.04)
            recorder.scored([TextFeatures(40, 8, 0.1)], [{"score": score, "label": "positive" if score > 0.5 else
                                                                           "negative"}])  # fmt: skip
        emulator.put_as_extracted(self.cloudwatch, recorder.lines())

    def healthy_traffic(self, step: str, candidate: str, total: int = 400, candidate_positive: float = 0.5) -> None:
        """Requests split as the weights say, no 5xx, 40 ms, and the candidate's model labelling texts as the
        champion's does (half positive) unless `candidate_positive` says otherwise."""
        weights = scale_out.listener_weights(boto3.client("elbv2", region_name=REGION), self.layout())
        for slot, weight in weights.items():
            if weight:
                self.publish(slot, total * weight // 100)
                self.predictions(slot, total * weight // 100, candidate_positive if slot == candidate else 0.5)

    def set_alarm(self, name: str, state: str) -> None:
        self.cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason=f"scenario: {state}")


def release(tag: str) -> Release:
    """A release record of model version `tag` (12 hex characters)."""
    return Release(
        image=IMAGE.format(tag=tag), image_built=True, model_version=tag, git_sha="0" * 40, environment="local",
        model_bucket="models", shared={
            "model_bucket_arn": "arn:aws:s3:::models",
            "model_bucket_kms_key_arn": f"arn:aws:kms:{REGION}:123456789012:key/00000000-0000-0000-0000-000000000000",
            "repository_arn": f"arn:aws:ecr:{REGION}:123456789012:repository/sentiment-api-local",
        },
    )  # fmt: skip


def fixed_emulator() -> ThreadedMotoServer:
    """moto in this process, on a free loopback port, with one bug of moto 5 fixed: CreateLaunchTemplateVersion
    keeps the user data unparsed, so its Auto Scaling fails (HTTP 500, an AssertionError) to launch a server
    from any template version after the first, i.e. to grow a slot that takes its second release."""
    original = launch_templates.LaunchTemplate.create_version

    def create_version(template: Any, data: dict[str, Any], description: str) -> Any:
        if data.get("UserData") is not None and not isinstance(data["UserData"], Base64EncodedString):
            data = {**data, "UserData": parse_user_data(data["UserData"])}
        return original(template, data, description)

    if not getattr(original, "fixed", False):
        create_version.fixed = True  # type: ignore[attr-defined]
        launch_templates.LaunchTemplate.create_version = create_version  # type: ignore[method-assign]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address=processes.LOOPBACK, port=processes.free_port(), verbose=False)
    server.start()
    return server


@contextmanager
def emulated_stack(root: Path, first: Release, log: Callable[[str], None] = print) -> Iterator[EmulatedStack]:
    """The emulator, and infra/service applied with 2 replicas serving `first`; all of it stopped after."""
    server = fixed_emulator()
    saved = {k: os.environ.get(k) for k in emulator.environment(REGION, "")}
    os.environ.update(emulator.environment(REGION, f"http://{processes.LOOPBACK}:{server._port}"))
    try:
        settings = PipelineSettings(
            project_name=f"canary-{uuid.uuid4().hex[:8]}", project_env="local", artifacts_dir=root / "artifacts",
            quality_gates_dir=REPO / "quality_gates", delivery_hold_s=HOLD_S, _env_file=None,
        )  # fmt: skip
        tf = stacks.stack(environments.current(settings), "service", log)
        base = {
            **stacks.common_variables(settings), "image": first.image, "model_version": first.model_version,
            "model_bucket_name": first.model_bucket, **first.shared, "replicas": 2,
        }  # fmt: skip
        log(f"applying infra/service (scale-out, 2 replicas) serving {first.model_version}")
        tf.plan(base, root / "first.tfplan")
        tf.apply(root / "first.tfplan")
        yield EmulatedStack(root, settings, tf, base, log)
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def decided(report_file: Path) -> list[str]:
    """One line per step of reports/delivery.json: its weight and the values that decided it."""
    report = json.loads(report_file.read_text())
    lines = []
    for step in report["steps"]:
        values = ", ".join(f"{c['name'].split('.', 1)[1]}={c['value']} ({'pass' if c['passed'] else 'FAIL'})"
                           for c in step["checks"])  # fmt: skip
        lines.append(f"  {step['name']:>6}  weights {step.get('weights')}  {values}")
    outcome = "promoted" if report["passed"] else f"ABORTED at {report['aborted_at']}: {report['breach']}"
    return [*lines, f"  -> {outcome}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it (default: a temporary directory)")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="aws-canary-"))
    root.mkdir(parents=True, exist_ok=True)
    a, b, c, d = (release(letter * 12) for letter in "abcd")
    with emulated_stack(root, a) as stack:
        reports = stack.settings.reports_dir
        print(f"\n== release {b.model_version}: healthy traffic at every step")
        stack.approve(b)
        stack.deliver(b, stack.healthy_traffic)
        print("\n".join(decided(reports / "delivery.json")))

        print(f"\n== release {c.model_version}: its 5xx alarm fires at 10%")

        fired: list[str] = []

        def alarm_at_ten(step: str, slot: str) -> None:
            stack.healthy_traffic(step, slot)
            if step == "10%":
                fired.append(f"{stack.settings.project_name}-local-{slot}-5xx-rate")
                stack.set_alarm(fired[-1], "ALARM")

        stack.approve(c)
        try:
            stack.deliver(c, alarm_at_ten)
            raise SystemExit("the candidate's alarm did not abort the release")
        except StageError as exc:
            print(f"deploy: error: {exc}")
        print("\n".join(decided(reports / "delivery.json")))
        # In AWS the alarm goes back to OK at its next evaluation without traffic; until then no rollout starts.
        stack.set_alarm(fired[-1], "OK")
        print(f"\n== release {d.model_version}: its model calls 95% of texts positive (the champion's: half)")
        stack.approve(d)
        try:
            stack.deliver(d, lambda step, slot: stack.healthy_traffic(step, slot, candidate_positive=0.95))
            raise SystemExit("the candidate's model behaviour did not abort the release")
        except StageError as exc:
            print(f"deploy: error: {exc}")
        print("\n".join(decided(reports / "delivery.json")))
        weights = scale_out.listener_weights(boto3.client("elbv2", region_name=REGION), stack.layout())
        print(f"\nthe load balancer forwards {weights}: {b.model_version} still serves")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
