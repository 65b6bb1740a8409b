"""The `local` environment: AWS is the emulator on loopback, images go to a local image registry, and
releases run on this machine (the emulated EC2 instances never boot) behind a local load balancer
on a fixed port, the stable endpoint."""

from __future__ import annotations

import os
from typing import Any

from botocore.exceptions import ClientError

from pipeline.environments import container_engine, emulator, image_registry, local_release, prometheus
from pipeline.environments.base import (
    Environment,
    ImageDestination,
    Rollout,
    ServerCounters,
    Serving,
    TrafficControl,
)
from pipeline.environments.container_engine import Engine
from pipeline.environments.load_balancer import LoadBalancer
from pipeline.errors import StageError, log
from pipeline.records import Release
from pipeline.supply_chain.oci_registry import Repository
from sentiment.model_registry import s3_client


class LocalTraffic(TrafficControl):
    """The local load balancer's two slots as champion and candidate; weights set at runtime."""

    def __init__(self, balancer: LoadBalancer, champion: dict[str, Any], candidate_port: int) -> None:
        self.balancer = balancer
        serving = balancer.serving()
        if serving is None:
            raise StageError("load balancer: no slot serves; nothing to move traffic from")
        self.champion_slot = serving.name
        self.champion = champion
        self.candidate = {"url": f"http://{local_release.HOST}:{candidate_port}"}
        self.candidate_slot = balancer.stage(candidate_port)
        self.weight = 0
        self.aborted = False

    def endpoint_url(self) -> str:
        return self.balancer.url

    def counters(self) -> dict[str, ServerCounters]:
        slots = self.balancer.slots()
        return {
            role: ServerCounters(slots[slot].requests, slots[slot].errors_5xx, slots[slot].response_ms)
            for role, slot in (("champion", self.champion_slot), ("candidate", self.candidate_slot))
        }

    def set_candidate_weight(self, percent: int) -> None:
        self.balancer.set_weights({self.candidate_slot: percent, self.champion_slot: 100 - percent})
        self.weight = percent

    def finish(self) -> None:
        """The candidate has all the traffic: drain the champion's slot and park it."""
        if self.weight != 100:
            self.set_candidate_weight(100)
        self.balancer.park(self.champion_slot)

    def abort(self) -> None:
        if self.aborted:
            return
        self.balancer.set_weights({self.champion_slot: 100, self.candidate_slot: 0})
        self.weight = 0
        self.balancer.park(self.candidate_slot)
        self.aborted = True


class LocalEnvironment(Environment):
    smoke_deadline_s = 60.0
    may_destroy = True
    serves_without_image = True
    tls_only_buckets = False  # the emulator speaks plain HTTP, and enforces bucket policies
    runs_releases_here = True

    def connect(self) -> None:
        endpoint = self.settings.aws_endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        if not endpoint:
            endpoint = emulator.endpoint_of(emulator.up(self.settings.local_aws_dir, self.settings.local_aws_port))
        emulator.point_this_process_at(
            self.settings.aws_default_region, endpoint, bound=self.settings.local_aws_credentials == "bound"
        )

    def image_destination(self, engine: Engine) -> ImageDestination:
        registry = image_registry.up(self.settings.local_image_registry_dir, self.settings.local_image_registry_port)
        return ImageDestination(image_registry.address_of(registry), self.settings.ecr_repository, insecure=True)

    def image_repository(self) -> str | None:
        registry = image_registry.recorded(self.settings.local_image_registry_dir)  # its port is kept across restarts
        return f"{image_registry.address_of(registry)}/{self.settings.ecr_repository}" if registry else None

    def image_registry_access(self, registry: str, repository: str) -> Repository:
        return Repository(registry, repository, insecure=True)  # the local registry: loopback, plain HTTP

    def image_digest(self, destination: ImageDestination, tag: str) -> str | None:
        return image_registry.digest(destination.registry, destination.repository, tag)

    def serve(self, release: Release, infrastructure_url: str, rollout: Rollout | None = None) -> Serving:
        env = {
            **os.environ,
            "MODEL_VERSION": release.model_version,
            "MODEL_BUCKET_NAME": release.model_bucket,
            "MODEL_CACHE_DIR": str((self.settings.artifacts_dir / "model-cache").resolve()),
            "IMAGE_REF": release.image,
            "GIT_SHA": release.git_sha,
            "SERVE_WORKERS": str(self.settings.local_serve_workers),
            "SERVE_THREADS": str(self.settings.local_serve_threads),
        }
        trusted_key = self.settings.trusted_model_key()
        if trusted_key is not None:  # a container does not see <artifacts>/keys: it gets the key itself
            env["MODEL_SIGNING_PUBLIC_KEY"] = trusted_key.decode()
        engine = container_engine.find(self.settings.container_engine) if release.image_built else None
        runner = f"its image in {engine.name}" if engine else "python -m sentiment serve (no image was built)"
        log("deploy", f"local: the emulated instance never boots; serving the release here with {runner}")
        local_release.check_state(self.settings.local_release_dir)
        balancer = self.load_balancer()
        balancer.up()
        self._recover_interrupted_deploy(balancer)
        previous = local_release.current(self.settings.local_release_dir)
        champion = None
        if previous is not None and balancer.serving() is not None:
            champion = {"url": previous.details["url"], "model_version": previous.details["release"]["model_version"]}
        traffic: list[LocalTraffic] = []

        def switch(port: int) -> None:
            if champion is None or rollout is None:
                balancer.switch_to(port)
                return
            traffic.append(LocalTraffic(balancer, champion, port))
            try:
                rollout(traffic[0])
            except BaseException:
                traffic[0].abort()  # a breach already did; an interruption did not
                raise
            traffic[0].finish()

        started = local_release.start(
            self.settings.local_release_dir, release.to_dict(), env, engine, switch=switch, keep_previous=True
        )
        url = started.details["url"]
        log("deploy", f"the endpoint {balancer.url} now sends every request to {url}")
        releases = {"candidate": {"url": url, "model_version": release.model_version}}
        weights = {url: 100}
        if champion is not None:
            releases["champion"] = {**champion, "parked": True}
            weights[champion["url"]] = 0
        runner_name = "container" if engine else "process"
        self._scrape(url)
        return Serving(balancer.url, runner_name, started.pid, url, releases=releases, weights=weights)

    def already_serving(self, release: Release) -> bool:
        state_dir = self.settings.local_release_dir
        local_release.check_state(state_dir)
        current = local_release.current(state_dir)
        if current is None or local_release.interrupted(state_dir) is not None:
            return False
        recorded = current.details.get("release", {})
        same = (recorded.get("image"), recorded.get("model_version"), recorded.get("image_built")) == (
            release.image, release.model_version, release.image_built,
        )  # fmt: skip
        balancer = self.load_balancer()
        if not same or balancer.running() is None:
            return False
        serving = balancer.serving()
        return serving is not None and serving.port == current.port

    def restore_previous(self) -> Serving | None:
        balancer = self.load_balancer()
        if balancer.running() is None:
            return None
        local_release.check_state(self.settings.local_release_dir)
        self._recover_interrupted_deploy(balancer)
        restored = local_release.restore_parked(self.settings.local_release_dir, balancer.switch_to)
        if restored is None:
            return None
        url = restored.details["url"]
        self._scrape(url)
        releases = {"champion": {"url": url, "model_version": restored.details["release"]["model_version"]}}
        return Serving(balancer.url, "container" if restored.details.get("container") else "process",
                       restored.pid, url, releases=releases, weights={url: 100})  # fmt: skip

    def _recover_interrupted_deploy(self, balancer: LoadBalancer) -> None:
        """A deploy killed mid-rollout (SIGKILL: nothing ran to clean up) left its candidate running with a
        share of the traffic: give all of it back to the recorded release, then stop the candidate."""
        state_dir = self.settings.local_release_dir
        candidate = local_release.interrupted(state_dir)
        if candidate is None:
            return
        champion = local_release.current(state_dir)
        if champion is not None:
            balancer.switch_to(champion.port)
        local_release.retire_interrupted(state_dir)
        back = f"; the traffic is back on {champion.details['url']}" if champion else ""
        log("deploy", f"a killed deploy left its candidate {candidate.details.get('url')} running: stopped{back}")

    def _scrape(self, release_url: str) -> None:
        """Point the local Prometheus, if one runs, at the release that now serves."""
        if prometheus.status(self.settings.local_prometheus_dir) is not None:
            prometheus.set_targets(self.settings.local_prometheus_dir, [release_url])
            log("deploy", f"the local Prometheus now scrapes {release_url}")

    def parked_release(self) -> dict[str, Any] | None:
        parked = local_release.parked(self.settings.local_release_dir)
        return parked.details.get("release") if parked else None

    def retire_previous(self) -> bool:
        return local_release.retire_parked(self.settings.local_release_dir)

    def load_balancer(self) -> LoadBalancer:
        return LoadBalancer(self.settings.local_endpoint_dir, self.settings.local_endpoint_port)

    def stop_release(self) -> bool:
        stopped = local_release.stop(self.settings.local_release_dir)
        for release in stopped:
            log("deploy", f"stopped {local_release.describe([release])}")
        self.load_balancer().down()
        return bool(stopped)

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
