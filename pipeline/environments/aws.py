"""The `dev`, `qa` and `prod` environments: real AWS through the normal credential chain, ECR, EC2.

Nothing is faked or set here: Jenkins binds the environment's credentials to the stages
that need them. Releases run on EC2 instances behind the stack's endpoint: one server is blue/green
behind its Elastic IP (aws_blue_green); several are an Auto Scaling group behind a load balancer.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import boto3

from pipeline.environments import aws_blue_green
from pipeline.environments.aws_blue_green import BlueGreen, Slots
from pipeline.environments.base import Environment, ImageDestination, Rollout, Serving
from pipeline.environments.container_engine import Engine
from pipeline.errors import StageError, log
from pipeline.records import ProvisionedStack, Release
from pipeline.supply_chain.oci_registry import Repository

# An EC2 instance takes minutes to boot, pull the image and fetch the model.
BOOT_DEADLINE_S = 900.0


class AwsEnvironment(Environment):
    smoke_deadline_s = BOOT_DEADLINE_S
    serves_without_image = False
    tls_only_buckets = True
    runs_releases_here = False
    traffic_in_terraform = True  # scale-out mode: pipeline.release.scale_out steps candidate.weight

    @property
    def may_destroy(self) -> bool:  # type: ignore[override]
        return self.name == "dev"  # qa and prod are torn down by people, never by a pipeline run

    def connect(self) -> None:
        """The default credential chain and endpoints already point at AWS."""

    def _ecr(self):
        return boto3.client("ecr", region_name=self.settings.aws_default_region)

    def image_destination(self, engine: Engine) -> ImageDestination:
        provisioned = ProvisionedStack.read(self.settings.artifacts_dir)
        registry, _, repository = provisioned.repository_url.partition("/")
        # ECR's authorization token: a password valid for 12 hours.
        data = self._ecr().get_authorization_token()["authorizationData"][0]
        username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        engine.login(data["proxyEndpoint"].removeprefix("https://"), username, password)
        return ImageDestination(registry, repository, insecure=False)

    def image_repository(self) -> str | None:
        path = ProvisionedStack.path(self.settings.artifacts_dir)
        return ProvisionedStack.read(self.settings.artifacts_dir).repository_url if path.is_file() else None

    def image_registry_access(self, registry: str, repository: str) -> Repository:
        # ECR's registry protocol takes its authorization token (base64 of AWS:<password>) as Basic auth.
        token = self._ecr().get_authorization_token()["authorizationData"][0]["authorizationToken"]
        return Repository(registry, repository, headers={"Authorization": f"Basic {token}"})

    def image_digest(self, destination: ImageDestination, tag: str) -> str | None:
        ecr = self._ecr()
        try:
            images = ecr.describe_images(repositoryName=destination.repository, imageIds=[{"imageTag": tag}])
        except ecr.exceptions.ImageNotFoundException:
            return None
        details = images["imageDetails"]
        return details[0]["imageDigest"] if details else None

    def release_variables(self, release: Release, outputs: Mapping[str, Any]) -> dict[str, Any]:
        if _scale_out(outputs):
            return super().release_variables(release, outputs)
        return aws_blue_green.boot_beside(Slots.from_outputs(outputs), _release_of(release))

    def serve(self, release: Release, infrastructure_url: str, rollout: Rollout | None = None) -> Serving:
        blue_green = self._blue_green()
        if blue_green is not None:
            endpoint, slots = blue_green.promote(_release_of(release))
            return _serving(endpoint, slots)
        # Scale-out mode's steps are Terraform applies (pipeline.release.scale_out, before this is called);
        # here the release serves as Terraform applied it.
        return Serving(infrastructure_url, "ec2")

    def stop_release(self) -> bool:
        return False  # releases run on EC2; Terraform owns them

    def parked_release(self) -> dict[str, Any] | None:
        blue_green = self._blue_green()
        if blue_green is None:
            return super().parked_release()
        parked = blue_green.slots().parked
        if parked is None:
            return None
        provisioned = ProvisionedStack.read(self.settings.artifacts_dir)
        # Terraform keeps the image and model version; the git revision is the champion's (promotion adds it).
        return Release(
            parked.image, True, parked.model_version, "", self.name, provisioned.model_bucket_name,
            provisioned.service_inputs(),
        ).to_dict()  # fmt: skip

    def restore_previous(self) -> Serving | None:
        blue_green = self._blue_green()
        if blue_green is None:
            return super().restore_previous()
        moved = blue_green.restore()
        return None if moved is None else _serving(*moved)

    def retire_previous(self) -> bool:
        blue_green = self._blue_green()
        if blue_green is None:
            return super().retire_previous()
        return blue_green.retire()

    def instance_address(self, instance_id: str, port: int) -> str:
        """Where an instance answers on its own: its public IP (EC2's, read now) and the service port."""
        ec2 = boto3.client("ec2", region_name=self.settings.aws_default_region)
        reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        address = reservations[0]["Instances"][0].get("PublicIpAddress") if reservations else None
        if not address:
            raise StageError(f"instance {instance_id} has no public IP address to check the new release on")
        return f"http://{address}:{port}"

    def _blue_green(self) -> BlueGreen | None:
        """The one-server mode's blue/green moves, None in scale-out mode; no readable stack: stop."""
        if self.service_stack is None:
            raise StageError(f"environment {self.name}: no Terraform stack attached to read the release slots from")
        outputs = self.service_stack.outputs()
        if _scale_out(outputs):
            return None
        port = urlsplit(outputs.get("endpoint_url", "")).port or 80
        return BlueGreen(
            self.service_stack, lambda instance: self.instance_address(instance, port), self.smoke_deadline_s,
            lambda message: log("deploy", message),
        )  # fmt: skip


def _scale_out(outputs: Mapping[str, Any]) -> bool:
    return bool(outputs.get("autoscaling_group_name"))


def _release_of(release: Release) -> dict[str, str]:
    return {"image": release.image, "model_version": release.model_version}


def _serving(endpoint: str, slots: Slots) -> Serving:
    if slots.live is None:
        raise StageError("blue/green: no live slot after the switch; infra/service's outputs are inconsistent")
    releases: dict[str, Any] = {"candidate": {"url": endpoint, "model_version": slots.live.model_version}}
    if slots.parked is not None:
        releases["champion"] = {"model_version": slots.parked.model_version, "parked": True, "slot": slots.parked.name}
    return Serving(endpoint, "ec2", releases=releases, weights={endpoint: 100})
