"""Deploying a release: plan infra/service for it, save the plan, apply exactly that plan, then
let the environment say where it answers. Used by the deploy stage and by rollbacks."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.cli import StageError
from pipeline.environments import Environment
from pipeline.records import Deployment, ImageRecord, ProvisionedStack, PublishedVersion, Release
from pipeline.release import progressive, stacks
from pipeline.release.terraform import Terraform
from sentiment.versions import validate_model_version

SHARED_OUTPUTS = ("model_bucket_arn", "model_bucket_kms_key_arn", "repository_arn")
BY_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def checked_version(value: str) -> str:
    """A model version given on a command line or by a parameter, or exit 2 in one line."""
    try:
        return validate_model_version(value)
    except ValueError as exc:
        raise StageError(str(exc), exit_code=2) from None


def checked_image(environment: Environment, image: str) -> str:
    """An image deploy or rollback may run: from this environment's own repository, by digest
    (`<registry>/<repository>@sha256:<64 hex>`); anything else is refused in one line, before any plan."""
    own = environment.image_repository()
    repository, _, digest = image.partition("@")
    if own is None or repository != own or not BY_DIGEST.fullmatch(digest):
        shown = repr(image[:100])
        where = f"{own}@sha256:<digest>" if own else "an image of its own repository (none exists yet: build first)"
        raise StageError(f"refusing image {shown}: {environment.name} runs only {where}", exit_code=2)
    return image


def release_for(
    environment: Environment,
    image: str | None,
    model_version: str | None,
    sha: str,
    built: bool = True,
) -> Release:
    """The release to deploy: the given image and model version, else the build's and publish's records."""
    artifacts = environment.settings.artifacts_dir
    if model_version is not None:
        model_version = checked_version(model_version)
    shared = ProvisionedStack.read(artifacts)
    version = model_version or PublishedVersion.read(artifacts).version
    if version == "champion":
        version = environment.registry().resolve("champion")
    if image is None:
        if ImageRecord.path(artifacts).is_file() or not environment.serves_without_image:
            image, built = ImageRecord.read(artifacts).pinned, True
        else:
            image, built = f"{shared.repository_url}:{sha[:12]}-{version}", False
    if built:
        image = checked_image(environment, image)
    return Release(
        image=image,
        image_built=built,
        model_version=version,
        git_sha=sha,
        environment=environment.name,
        model_bucket=shared.model_bucket_name,
        shared={name: getattr(shared, name) for name in SHARED_OUTPUTS},
    )


def variables(environment: Environment, release: Release) -> dict[str, Any]:
    return {
        **stacks.common_variables(environment.settings),
        "image": release.image,
        "model_version": release.model_version,
        "model_bucket_name": release.model_bucket,
        **release.shared,
    }


def service_stack(environment: Environment, log: Callable[[str], None]) -> Terraform:
    return stacks.stack(environment, "service", log)


def plan(environment: Environment, release: Release, log: Callable[[str], None]) -> None:
    """Save a plan for the release, and the release beside it for `apply_saved_plan`."""
    _plan(service_stack(environment, log), environment, release, log)


def apply_saved_plan(environment: Environment, log: Callable[[str], None]) -> Deployment:
    """Apply exactly the saved plan and record the deployment."""
    release = Release.read(environment.settings.artifacts_dir)
    if release.environment != environment.name:
        raise StageError(f"the saved plan is for {release.environment}, not {environment.name}: plan again", 2)
    tf = service_stack(environment, log)
    tf.apply(_plan_file(environment))
    return _serve(tf, environment, release, log)


def deploy(
    environment: Environment, release: Release, log: Callable[[str], None], redeploy: bool = False
) -> Deployment:
    """Plan and apply in one go (one `terraform init`); a plan without changes is not applied, and when the
    release already serves (the same image digest and model version) nothing is started again, unless
    `redeploy` asks for it (a new start of the same release, through the traffic steps)."""
    tf = service_stack(environment, log)
    if _plan(tf, environment, release, log):
        tf.apply(_plan_file(environment))
    elif not redeploy and (unchanged := _unchanged(environment, release)) is not None:
        log(f"release {release.model_version} ({release.image}) already serves at {unchanged.endpoint_url}: "
            "nothing to deploy (smoke still checks it)")  # fmt: skip
        return unchanged
    return _serve(tf, environment, release, log)


def _unchanged(environment: Environment, release: Release) -> Deployment | None:
    """The recorded deployment, when it is of this very release and that release still serves."""
    artifacts = environment.settings.artifacts_dir
    if not Deployment.path(artifacts).is_file():
        return None
    record = Deployment.read(artifacts)
    recorded = replace(record.release, deployed=None)
    if recorded != replace(release, deployed=None) or not environment.already_serving(release):
        return None
    return record


def _plan(tf: Terraform, environment: Environment, release: Release, log: Callable[[str], None]) -> bool:
    changed = tf.plan(variables(environment, release), _plan_file(environment))
    release.write(environment.settings.artifacts_dir)
    log(
        f"planned {release.image} with model {release.model_version}"
        f" ({'changes' if changed else 'no infrastructure changes'}); plan saved to {_plan_file(environment)}"
    )
    return changed


def _serve(tf: Terraform, environment: Environment, release: Release, log: Callable[[str], None]) -> Deployment:
    """The environment serves the applied release (in traffic steps when one already serves); recorded."""
    rollout = progressive.rollout(environment.settings, log)
    outputs = tf.outputs()
    release = replace(release, deployed=datetime.now(UTC).isoformat(timespec="seconds"))
    serving = environment.serve(release, outputs["endpoint_url"], rollout)
    if not rollout.ran:
        log("no release was serving: all traffic went to the new one at once (no steps)")
    deployment = Deployment(
        release=release,
        endpoint_url=serving.endpoint_url,
        runner=serving.runner,
        infrastructure_url=outputs["endpoint_url"],
        instance_id=outputs.get("instance_id"),
        local_pid=serving.local_pid,
        release_url=serving.release_url,
        releases=serving.releases,
        weights=serving.weights,
    )
    deployment.write(environment.settings.artifacts_dir)
    log(f"release {release.model_version} ({release.image}) is live at {deployment.endpoint_url}")
    return deployment


def destroy(environment: Environment, release: Release, log: Callable[[str], None]) -> None:
    if not environment.may_destroy:
        raise StageError(f"refusing to destroy the service of {environment.name} from the pipeline", exit_code=2)
    environment.stop_release()
    service_stack(environment, log).destroy(variables(environment, release))


def _plan_file(environment: Environment) -> Path:
    return environment.settings.terraform_dir / environment.name / "service.tfplan"
