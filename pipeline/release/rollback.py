"""Roll back to the champion (or a named version): traffic back to a release still parked beside the
failed one when there is one, else a redeploy through the same Terraform path as any deploy; then the
release is smoke-tested again and promoted as a rollback.

Shared by the smoke stage (on a failure) and the rollback command.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pipeline.environments import Environment
from pipeline.environments.base import CapabilityError
from pipeline.errors import StageError
from pipeline.provenance import git_sha
from pipeline.records import Deployment, Release
from pipeline.release import deployment
from pipeline.release.promotion import promote
from pipeline.release.smoke import SmokeOptions, expected_of, smoke_test


def target_release(environment: Environment, to: str | None) -> dict[str, Any] | None:
    """The champion, or the newest successful release of model version `to` (checked first: it is printed)."""
    if to is not None:
        to = deployment.checked_version(to)
    model_registry = environment.model_registry()
    if to is None or to == "champion":
        return model_registry.champion()
    releases = [e for e in model_registry.history() if e["version"] == to and e.get("image")]
    if not releases:
        raise StageError(f"no successful release of model {to} in the history of {model_registry.bucket}", exit_code=2)
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
    if target.get("image_built", True):  # the model registry's word on what to run is checked like any deploy's
        deployment.verified_image(environment, str(target.get("image")))
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
