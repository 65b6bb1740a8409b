"""The `dev`, `qa` and `prod` environments: real AWS through the normal credential chain, ECR, EC2.

Nothing is faked or set here: Jenkins binds the environment's credentials to the stages
that need them. Releases run on EC2 instances behind the stack's endpoint.
"""

from __future__ import annotations

import base64

import boto3

from pipeline.environments.base import Environment, ImageDestination, Rollout, Serving
from pipeline.environments.container_engine import Engine
from pipeline.records import ProvisionedStack, Release

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

    def image_digest(self, destination: ImageDestination, tag: str) -> str | None:
        ecr = self._ecr()
        try:
            images = ecr.describe_images(repositoryName=destination.repository, imageIds=[{"imageTag": tag}])
        except ecr.exceptions.ImageNotFoundException:
            return None
        details = images["imageDetails"]
        return details[0]["imageDigest"] if details else None

    def serve(self, release: Release, infrastructure_url: str, rollout: Rollout | None = None) -> Serving:
        # Scale-out mode's steps are Terraform applies (pipeline.release.scale_out, before this is called);
        # here the release serves as Terraform applied it.
        return Serving(infrastructure_url, "ec2")

    def stop_release(self) -> bool:
        return False  # releases run on EC2; Terraform owns them
