"""What every environment kind offers the stages: one small interface, so no stage branches on PROJECT_ENV."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from pipeline.environments.container_engine import Engine
from pipeline.errors import StageError
from pipeline.ml import datasets
from pipeline.ml.data import DataError
from pipeline.ml.datasets import Dataset, DatasetSpec
from pipeline.model_registry import ModelRegistryWriter
from pipeline.records import Release, ReleaseRef
from pipeline.settings import PipelineSettings
from pipeline.supply_chain.oci_registry import Repository
from sentiment.model_registry import ModelRegistryError


@dataclass(frozen=True)
class ImageDestination:
    registry: str  # the image registry: host[:port]
    repository: str
    insecure: bool  # plain HTTP (an image registry on loopback)


@dataclass(frozen=True)
class Serving:
    """Where a release answers once deployed, and what runs it."""

    endpoint_url: str
    runner: str  # "ec2", "container" or "process"
    local_pid: int | None = None
    release_url: str | None = None  # where the release itself answers, behind the endpoint (local)
    releases: dict[str, ReleaseRef] = field(default_factory=dict)  # "champion", "candidate"
    weights: dict[str, int] = field(default_factory=dict)  # release url -> share of live traffic, percent


@dataclass(frozen=True)
class ServerCounters:
    """What the load balancer itself counted for one release's server, cumulative: the judge takes a
    step's deltas. It is the primary source for errors and latency (a release's own /metrics can lie)."""

    requests: float  # requests it sent the release, answered or failed
    errors_5xx: float  # 5xx answers, and requests the release failed without an answer
    response_ms: float | None  # the balancer's mean response time of the release's recent answers


class TrafficControl(ABC):
    """Moves live traffic between the release that serves (the champion) and a new one (the candidate).

    The delivery steps (pipeline.release.progressive) drive it; each environment implements it on its
    load balancer. Both releases answer on their own URLs too, for analysis (/metrics) and shadow replays.
    """

    champion: dict[str, Any]  # url, model_version
    candidate: dict[str, Any]

    @abstractmethod
    def set_candidate_weight(self, percent: int) -> None:
        """Send `percent` of new requests to the candidate, the rest to the champion."""

    @abstractmethod
    def abort(self) -> None:
        """All traffic back on the champion; the candidate drained (it is stopped by the caller). Idempotent."""

    @abstractmethod
    def endpoint_url(self) -> str:
        """The stable endpoint clients use."""

    @abstractmethod
    def counters(self) -> dict[str, ServerCounters]:
        """The balancer's own counters for "champion" and "candidate" now (cumulative); raises OSError when
        they cannot be read (the judge then has no measurement, which is never a pass)."""


# What deploy hands the environment: runs the steps on a TrafficControl, raises StageError to abort.
Rollout = Callable[[TrafficControl], None]


class ServiceStack(Protocol):
    """infra/service as an environment drives it between applies of a release (blue/green moves). The
    release layer, which runs Terraform, attaches it (`Environment.service_stack`)."""

    def outputs(self) -> dict[str, Any]:
        """The stack's outputs ({} before its first apply)."""

    def apply(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """Plan and apply the stack with these release variables (the rest as for any deploy); its outputs."""


class CapabilityError(StageError):
    """An environment was asked for something it cannot do: one line naming the environment and the thing."""

    def __init__(self, environment: str, cannot: str) -> None:
        super().__init__(f"environment {environment} cannot {cannot}", exit_code=2)


class Environment(ABC):
    """One kind of environment. `pipeline.environments.current` picks the one for PROJECT_ENV."""

    smoke_deadline_s: float  # how long a new release may take to answer /health
    may_destroy: bool  # whether the pipeline may tear the stacks down
    serves_without_image: bool  # whether a release can run without a built image (from this checkout)
    tls_only_buckets: bool  # whether buckets the pipeline creates refuse plain HTTP
    runs_releases_here: bool  # whether releases run on this machine (else on servers Terraform owns)
    # Whether the service stack's Terraform holds the traffic weights (AWS scale-out: the ALB's target groups,
    # stepped by pipeline.release.scale_out) rather than the environment's own load balancer (serve's rollout).
    traffic_in_terraform: bool = False

    def __init__(self, settings: PipelineSettings) -> None:
        self.settings = settings
        self.service_stack: ServiceStack | None = None  # attached by the release layer where it runs Terraform

    @property
    def name(self) -> str:
        return self.settings.project_env

    @abstractmethod
    def connect(self) -> None:
        """Make this process's AWS calls (and its children's) reach this environment's AWS."""

    @abstractmethod
    def image_destination(self, engine: Engine) -> ImageDestination:
        """Where the build pushes images; logs the engine in where the image registry needs it."""

    @abstractmethod
    def image_digest(self, destination: ImageDestination, tag: str) -> str | None:
        """The digest the image registry holds under the tag, or None."""

    @abstractmethod
    def image_repository(self) -> str | None:
        """`registry/repository` of this environment's own images (None before it has one); deploy and
        rollback run only images from it, by digest. Read without side effects."""

    @abstractmethod
    def image_registry_access(self, registry: str, repository: str) -> Repository:
        """`registry/repository` over the registry protocol, authorised, for image signatures (write and read)."""

    @abstractmethod
    def serve(self, release: Release, infrastructure_url: str, rollout: Rollout | None = None) -> Serving:
        """After Terraform applied the release: where it answers. With a release already serving, `rollout`
        moves the traffic to the new one step by step (no rollout: all at once)."""

    def already_serving(self, release: Release) -> bool:
        """True when `release` (its image and model version) is what serves here now, so that a deploy of it
        has nothing to do; False when that cannot be told (then the deploy goes through its steps)."""
        return False

    @abstractmethod
    def stop_release(self) -> bool:
        """Stop a release this machine runs; True if one was running (False where releases run elsewhere)."""

    def stop_local_release(self) -> bool:
        """`deploy --stop-local`: stop the release this machine runs; StageError where none can run here."""
        if not self.runs_releases_here:
            raise StageError(
                f"deploy --stop-local: the {self.name} environment runs no release on this machine "
                "(its releases run on servers Terraform owns)",
                exit_code=2,
            )
        return self.stop_release()

    def release_variables(self, release: Release, outputs: Mapping[str, Any]) -> dict[str, Any]:
        """infra/service's variables that say what runs where, for deploying `release` over a stack whose last
        apply gave `outputs`: by default the release replaces what runs."""
        return {"image": release.image, "model_version": release.model_version}

    # A kind that cannot keep the previous release beside the new one says so (CapabilityError); callers that
    # can do without (a rollback redeploys instead) catch it. None/False mean "can, but nothing is parked".
    def parked_release(self) -> dict[str, Any] | None:
        """The previous release (a Release record as a dict), if it is kept beside the current one."""
        raise CapabilityError(self.name, "keep a previous release parked")

    def restore_previous(self) -> Serving | None:
        """Traffic back on the parked previous release, the current one parked or stopped; None if none is parked."""
        raise CapabilityError(self.name, "restore a parked release")

    def retire_previous(self) -> bool:
        """Stop the parked previous release (the new one was promoted); True if one ran."""
        raise CapabilityError(self.name, "retire a parked release")

    def before_destroying_bucket(self, bucket: str) -> None:  # noqa: B027 - most kinds need nothing here
        """Prepare the model bucket for `terraform destroy`."""

    def dataset(self, spec: DatasetSpec) -> Dataset:
        """`spec`'s rows and lineage; an s3:// dataset is read through this environment's AWS."""
        if spec.on_s3:
            self.connect()
        try:
            return datasets.load(spec, self.settings.aws_default_region)
        except DataError as exc:
            raise StageError(f"dataset: {exc}", exit_code=2) from exc

    def existing_model_registry(self) -> ModelRegistryWriter | None:
        """The model registry if its bucket exists (None before the first provision); a bucket that
        exists but cannot be read (credentials, network) is a ModelRegistryError."""
        self.connect()
        model_registry = ModelRegistryWriter.open(
            self.settings.model_bucket, self.settings.aws_default_region, self.settings.trusted_model_key()
        )
        try:
            model_registry.s3.head_bucket(Bucket=model_registry.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket"):
                return None
            raise ModelRegistryError(f"model bucket {model_registry.bucket} cannot be read ({exc})") from exc
        except BotoCoreError as exc:
            raise ModelRegistryError(f"model bucket {model_registry.bucket} is not reachable ({exc})") from exc
        return model_registry

    def model_registry(self) -> ModelRegistryWriter:
        """The model registry in this environment's bucket, which the provision stage creates."""
        model_registry = self.existing_model_registry()
        if model_registry is None:
            bucket = self.settings.model_bucket
            raise ModelRegistryError(f"model bucket {bucket} does not exist: run `python -m pipeline.provision` first")
        return model_registry
