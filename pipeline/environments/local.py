"""The `local` environment: AWS is the emulator on loopback, images go to a local registry, and
releases run on this machine (the emulated EC2 instances never boot) behind a local load balancer
on a fixed port, the stable endpoint."""

from __future__ import annotations

import os

from botocore.exceptions import ClientError

from pipeline.cli import log
from pipeline.environments import container_engine, emulator, local_registry, local_release
from pipeline.environments.base import Environment, ImageDestination, Serving
from pipeline.environments.container_engine import Engine
from pipeline.environments.load_balancer import LoadBalancer
from pipeline.records import Release
from sentiment.registry import s3_client


class LocalEnvironment(Environment):
    smoke_deadline_s = 60.0
    may_destroy = True
    serves_without_image = True
    tls_only_buckets = False  # the emulator speaks plain HTTP, and enforces bucket policies

    def connect(self) -> None:
        endpoint = self.settings.aws_endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        if not endpoint:
            endpoint = emulator.endpoint_of(emulator.up(self.settings.local_aws_dir, self.settings.local_aws_port))
        emulator.point_this_process_at(self.settings.aws_default_region, endpoint)

    def image_destination(self, engine: Engine) -> ImageDestination:
        registry = local_registry.up(self.settings.local_registry_dir, self.settings.local_registry_port)
        return ImageDestination(local_registry.address_of(registry), self.settings.ecr_repository, insecure=True)

    def image_digest(self, destination: ImageDestination, tag: str) -> str | None:
        return local_registry.digest(destination.registry, destination.repository, tag)

    def serve(self, release: Release, infrastructure_url: str) -> Serving:
        env = {
            **os.environ,
            "MODEL_VERSION": release.model_version,
            "MODEL_BUCKET_NAME": release.model_bucket,
            "MODEL_CACHE_DIR": str((self.settings.artifacts_dir / "model-cache").resolve()),
            "IMAGE_REF": release.image,
            "GIT_SHA": release.git_sha,
            "GUNICORN_WORKERS": os.environ.get("GUNICORN_WORKERS", "2"),
        }
        engine = container_engine.find(self.settings.container_engine) if release.image_built else None
        runner = f"its image in {engine.name}" if engine else "python -m sentiment serve (no image was built)"
        log("deploy", f"local: the emulated instance never boots; serving the release here with {runner}")
        balancer = self.load_balancer()
        balancer.up()
        started = local_release.start(
            self.settings.local_release_dir, release.to_dict(), env, engine, switch=balancer.switch_to
        )
        log("deploy", f"the endpoint {balancer.url} now sends every request to {started.details['url']}")
        return Serving(balancer.url, "container" if engine else "process", started.pid, started.details["url"])

    def load_balancer(self) -> LoadBalancer:
        return LoadBalancer(self.settings.local_endpoint_dir, self.settings.local_endpoint_port)

    def stop_release(self) -> bool:
        stopped = local_release.stop(self.settings.local_release_dir)
        self.load_balancer().down()
        return stopped

    def before_destroying_bucket(self, bucket: str) -> None:
        """Delete every object version and delete marker: the provider's force_destroy loops on moto."""
        s3 = s3_client(self.settings.aws_default_region)
        paginator = s3.get_paginator("list_object_versions")
        try:
            for page in paginator.paginate(Bucket=bucket):
                keys = [
                    {"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                if keys:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchBucket":
                raise
