"""Deploying a release: plan infra/service for it, save the plan, apply exactly that plan, then
let the environment say where it answers. Used by the deploy stage and by rollbacks."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.environments import Environment, Serving
from pipeline.errors import StageError
from pipeline.records import Deployment, ImageRecord, ProvisionedStack, PublishedVersion, Release
from pipeline.release import progressive, scale_out, stacks
from pipeline.release.terraform import Terraform
from pipeline.supply_chain import image_signatures
from pipeline.supply_chain.image_signatures import ImageSignatureError
from pipeline.supply_chain.keys import image_public_key_file, trusted_image_key
from pipeline.supply_chain.oci_registry import RegistryError
from sentiment.versions import validate_model_version

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


def verified_image(environment: Environment, image: str) -> str:
    """An image deploy or rollback may run (checked_image) whose signature verifies with the environment's
    image signing public key, read from the image registry before anything is planned; else one line, exit 1:
    unsigned, signed with another key, or an unreadable signature."""
    image = checked_image(environment, image)
    public_key = trusted_image_key(environment.settings)
    repository, _, _ = image.partition("@")
    image_registry, _, name = repository.partition("/")
    try:
        image_signatures.verify(image, environment.image_registry_access(image_registry, name).reader(), public_key)
    except (ImageSignatureError, RegistryError) as exc:
        raise StageError(f"refusing to run an image that does not verify: {exc}") from None
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
    model_registry = environment.model_registry()
    if version == "champion":
        version = model_registry.resolve("champion")
    model_registry.verified_manifest(version)  # nothing is deployed that does not verify
    if image is None:
        if ImageRecord.path(artifacts).is_file() or not environment.serves_without_image:
            image, built = ImageRecord.read(artifacts).pinned, True
        else:
            image, built = f"{shared.repository_url}:{sha[:12]}-{version}", False
    if built:
        image = verified_image(environment, image)
    return Release(
        image=image,
        image_built=built,
        model_version=version,
        git_sha=sha,
        environment=environment.name,
        model_bucket=shared.model_bucket_name,
        shared=shared.service_inputs(),
    )


def variables(environment: Environment, release: Release, outputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """infra/service's variables for the release; what runs where is the environment's choice, from the
    stack's last outputs (one server: the new release boots beside the live one)."""
    where = environment.release_variables(release, outputs or {})
    return _stack_variables(environment, release.model_bucket, release.shared, where)


def _stack_variables(
    environment: Environment, model_bucket: str, shared: Mapping[str, str], release_variables: Mapping[str, Any]
) -> dict[str, Any]:
    key_file = image_public_key_file(environment.settings)
    return {
        **stacks.common_variables(environment.settings),
        **release_variables,
        "model_bucket_name": model_bucket,
        # the instances verify the image with it before they run it (empty where none exists: they refuse)
        "image_signing_public_key": key_file.read_text() if key_file.is_file() else "",
        **shared,
    }


class TerraformService:
    """infra/service as an environment drives it after the deploy's own apply (environments.base.ServiceStack):
    the blue/green moves of one-server mode. Terraform is initialised on first use only."""

    def __init__(self, environment: Environment, log: Callable[[str], None]) -> None:
        self.environment = environment
        self.log = log
        self._tf: Terraform | None = None

    @property
    def tf(self) -> Terraform:
        if self._tf is None:
            self._tf = stacks.stack(self.environment, "service", self.log)
        return self._tf

    def outputs(self) -> dict[str, Any]:
        return self.tf.outputs()

    def apply(self, release_variables: Mapping[str, Any]) -> dict[str, Any]:
        shared = ProvisionedStack.read(self.environment.settings.artifacts_dir)
        plan_file = _plan_file(self.environment).with_name("service-move.tfplan")
        stack_variables = _stack_variables(
            self.environment, shared.model_bucket_name, shared.service_inputs(), release_variables
        )
        if self.tf.plan(stack_variables, plan_file):
            self.tf.apply(plan_file)
        return self.tf.outputs()


def attach(environment: Environment, log: Callable[[str], None]) -> TerraformService:
    """Give the environment its service stack (it sits below Terraform's driver); the one already attached."""
    if not isinstance(environment.service_stack, TerraformService):
        environment.service_stack = TerraformService(environment, log)
    return environment.service_stack


def service_stack(environment: Environment, log: Callable[[str], None]) -> Terraform:
    return attach(environment, log).tf


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
    values = variables(environment, release, tf.outputs())
    if environment.traffic_in_terraform:  # a scale-out release already serving: the new one beside it at weight 0
        values = scale_out.rollout_variables(tf, values, release, log)
    changed = tf.plan(values, _plan_file(environment))
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
    stepped = None
    if environment.traffic_in_terraform:
        values = variables(environment, release, outputs)
        stepped = scale_out.ScaleOutDelivery(tf, values, environment.settings, log).deliver(release)
    serving = environment.serve(release, outputs["endpoint_url"], rollout)
    if stepped is not None:
        serving = replace(serving, weights=stepped)
    elif not rollout.ran:
        log("no release was serving: all traffic went to the new one at once (no steps)")
    return _record(tf, environment, release, serving, log)


def _record(
    tf: Terraform, environment: Environment, release: Release, serving: Serving, log: Callable[[str], None]
) -> Deployment:
    outputs = tf.outputs()
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


def restore_parked(environment: Environment, release: Release, log: Callable[[str], None]) -> Deployment | None:
    """AWS scale-out: the traffic back on `release` where it is parked, in one apply; None if it is not parked."""
    tf = service_stack(environment, log)
    weights = scale_out.restore_parked(
        tf, variables(environment, release, tf.outputs()), release, environment.settings, log
    )
    if weights is None:
        return None
    serving = replace(environment.serve(release, tf.outputs()["endpoint_url"]), weights=weights)
    return _record(tf, environment, release, serving, log)


def destroy(environment: Environment, release: Release, log: Callable[[str], None]) -> None:
    if not environment.may_destroy:
        raise StageError(f"refusing to destroy the service of {environment.name} from the pipeline", exit_code=2)
    environment.stop_release()
    tf = service_stack(environment, log)
    tf.destroy(variables(environment, release, tf.outputs()))


def _plan_file(environment: Environment) -> Path:
    return environment.settings.terraform_dir / environment.name / "service.tfplan"
