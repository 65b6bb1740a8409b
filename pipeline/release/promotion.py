"""After a deploy: prove the live release, promote it on a pass, roll back to the champion on a failure.

Shared by the smoke stage and the rollback command. A rollback redeploys the target
through the same Terraform path as any deploy and smoke-tests it again.
"""

from __future__ import annotations

import argparse
import getpass
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.environments import Environment
from pipeline.environments.base import CapabilityError
from pipeline.errors import StageError
from pipeline.ml.gate_config import GateConfigError, load_thresholds
from pipeline.provenance import git_sha
from pipeline.records import Deployment, Release, SmokeReport
from pipeline.release import deployment, probe
from pipeline.reports import CheckResult, print_checks, write_junit
from pipeline.settings import PipelineSettings


@dataclass(frozen=True)
class SmokeOptions:
    deadline_s: float  # how long to wait for /health
    requests: int  # sequential requests for the latency measurement
    smoke_config: Path  # smoke.toml: smoke.p99_ms
    quality_gates: Path  # holds canaries.jsonl

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser, environment: Environment) -> None:
        """The command-line options of every command that smoke-tests (smoke, rollback)."""
        settings = environment.settings
        deadline = environment.smoke_deadline_s
        parser.add_argument("--deadline", type=float, default=deadline, help="seconds to wait for /health")
        parser.add_argument("--requests", type=int, default=200, help="requests for the latency measurement")
        parser.add_argument("--smoke-config", type=Path, default=settings.smoke_file, help="holds smoke.p99_ms")
        parser.add_argument("--quality-gates", type=Path, default=settings.quality_gates_dir, help="holds canaries")

    @classmethod
    def from_arguments(cls, args: argparse.Namespace) -> SmokeOptions:
        return cls(args.deadline, args.requests, args.smoke_config, args.quality_gates)


def smoke_test(
    environment: Environment,
    url: str,
    expected: dict[str, str],
    options: SmokeOptions,
    log: Callable[[str], None],
    report_name: str = "smoke",
) -> list[CheckResult]:
    """Probe the endpoint; write the report (JSON + JUnit) and print the table."""
    try:
        budget = load_thresholds(options.smoke_config)["smoke.p99_ms"].limit
    except (GateConfigError, KeyError) as exc:
        raise StageError(f"{options.smoke_config}: no usable smoke.p99_ms threshold ({exc})", exit_code=2) from exc
    started = time.monotonic()
    log(f"checking {url}")
    checks = probe.run_checks(url, expected, options.quality_gates, budget, options.requests, options.deadline_s, log)
    passed = all(c.passed for c in checks)
    reports = environment.settings.reports_dir
    SmokeReport(url=url, expected=expected, passed=passed, checks=[c.to_dict() for c in checks]).write_file(
        reports / f"{report_name}.json"
    )
    write_junit(reports / f"{report_name}.xml", report_name, checks, time.monotonic() - started)
    print_checks(report_name, checks)
    return checks


def expected_of(record: Deployment) -> dict[str, str]:
    return {"model_version": record.release.model_version, "image": record.release.image}


def who(settings: PipelineSettings) -> dict[str, str | None]:
    """Who promotes and from which build: the prod approver, else the Jenkins user, else the OS user."""
    promoted_by = settings.approver or settings.build_user_id or getpass.getuser()
    return {"promoted_by": promoted_by, "approved_by": settings.approver, "build_url": settings.build_url}


def is_champion(environment: Environment, record: Deployment) -> bool:
    """True when the champion already is this deployment's release (model version, image and deploy time):
    a rerun that deployed nothing new promotes nothing again."""
    champion = environment.model_registry().champion() or {}
    release = record.release
    return (champion.get("version"), champion.get("image"), champion.get("deployed")) == (
        release.model_version, release.image, release.deployed,
    )  # fmt: skip


def promote(environment: Environment, record: Deployment, kind: str = "release", **extra: Any) -> dict[str, Any]:
    release = record.release
    details = {
        **who(environment.settings),
        "image": release.image,
        "image_built": release.image_built,
        "git_sha": release.git_sha,
        "endpoint_url": record.endpoint_url,
        "deployed": release.deployed,
        "kind": kind,
        **extra,
    }
    return environment.model_registry().promote(release.model_version, details)


def target_release(environment: Environment, to: str | None) -> dict[str, Any] | None:
    """The champion, or the newest successful release of model version `to` (checked first: it is printed)."""
    if to is not None:
        to = deployment.checked_version(to)
    registry = environment.model_registry()
    if to is None or to == "champion":
        return registry.champion()
    releases = [e for e in registry.history() if e["version"] == to and e.get("image")]
    if not releases:
        raise StageError(f"no successful release of model {to} in the history of {registry.bucket}", exit_code=2)
    return releases[-1]


def roll_back(
    environment: Environment,
    to: str | None,
    failed: Deployment | None,
    options: SmokeOptions,
    log: Callable[[str], None],
) -> str:
    """Redeploy and smoke-test the target; returns a one-line outcome."""
    target = target_release(environment, to)
    if target is None:
        stopped = environment.stop_release()
        left = "was stopped" if stopped else "is still deployed"
        return f"no previous successful release to roll back to; the failed release {left}"
    if target.get("image_built", True):  # the registry's word on what to run is checked like any deploy's
        deployment.checked_image(environment, str(target.get("image")))
    record = _restore_parked(environment, target, log)
    if record is None:
        record = _redeploy(environment, target, log)
    checks = smoke_test(environment, record.endpoint_url, expected_of(record), options, log, "smoke-rollback")
    if not all(c.passed for c in checks):
        return f"FAILED: {target['version']} was redeployed but fails smoke too; manual action needed"
    rolled_back_from = failed.to_dict()["release"] if failed else None
    promote(environment, record, kind="rollback", rolled_back_from=rolled_back_from)
    return f"OK: {target['version']} ({target['image']}) serves again at {record.endpoint_url}"


def _restore_parked(environment: Environment, target: dict[str, Any], log: Callable[[str], None]) -> Deployment | None:
    """When the target's release still runs beside the current one (parked, drained, no traffic): move the
    traffic back to it in seconds and record it as the deployment. None when it does not run."""
    if environment.traffic_in_terraform:  # AWS scale-out: the parked slot gets the weight back, one apply
        # (one server: not scale-out, so on to the parked blue/green slot below)
        started = time.monotonic()
        sha = target.get("git_sha") or git_sha()
        release = deployment.release_for(
            environment, target["image"], target["version"], sha, target.get("image_built", True)
        )
        record = deployment.restore_parked(environment, release, log)
        if record is not None:
            seconds = time.monotonic() - started
            log(f"{target['version']} was parked: traffic is back on it after {seconds:.1f}s (one apply, no redeploy)")
            return record
    deployment.attach(environment, log)
    try:
        parked = environment.parked_release()
    except CapabilityError as exc:
        log(f"{exc}: redeploying instead")
        return None
    if parked is None or parked.get("model_version") != target["version"] or parked.get("image") != target["image"]:
        return None
    started = time.monotonic()
    serving = environment.restore_previous()
    if serving is None:
        return None
    log(f"{target['version']} still ran: traffic is back on it after {time.monotonic() - started:.1f}s (no redeploy)")
    record = Deployment(
        release=Release.from_dict({**parked, "git_sha": parked.get("git_sha") or target.get("git_sha", "")}),
        endpoint_url=serving.endpoint_url,
        runner=serving.runner,
        infrastructure_url=serving.endpoint_url,
        local_pid=serving.local_pid,
        release_url=serving.release_url,
        releases=serving.releases,
        weights=serving.weights,
    )
    record.write(environment.settings.artifacts_dir)
    return record


def _redeploy(environment: Environment, target: dict[str, Any], log: Callable[[str], None]) -> Deployment:
    log(f"redeploying {target['version']} ({target['image']})")
    release = deployment.release_for(
        environment,
        target["image"],
        target["version"],
        target.get("git_sha") or git_sha(),
        target.get("image_built", True),
    )
    return deployment.deploy(environment, release, log)
