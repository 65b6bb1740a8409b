"""What every environment kind offers the stages: one small interface, so no stage branches on PROJECT_ENV."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from pipeline.environments.container_engine import Engine
from pipeline.records import Release
from pipeline.registry import RegistryWriter
from pipeline.settings import PipelineSettings
from sentiment.registry import RegistryError


@dataclass(frozen=True)
class ImageDestination:
    registry: str  # host[:port]
    repository: str
    insecure: bool  # plain HTTP (a registry on loopback)


@dataclass(frozen=True)
class Serving:
    """Where a release answers once deployed, and what runs it."""

    endpoint_url: str
    runner: str  # "ec2", "container" or "process"
    local_pid: int | None = None
    release_url: str | None = None  # where the release itself answers, behind the endpoint (local)


class Environment(ABC):
    """One kind of environment. `pipeline.environments.current` picks the one for PROJECT_ENV."""

    smoke_deadline_s: float  # how long a new release may take to answer /health
    may_destroy: bool  # whether the pipeline may tear the stacks down
    serves_without_image: bool  # whether a release can run without a built image (from this checkout)
    tls_only_buckets: bool  # whether buckets the pipeline creates refuse plain HTTP

    def __init__(self, settings: PipelineSettings) -> None:
        self.settings = settings

    @property
    def name(self) -> str:
        return self.settings.project_env

    @abstractmethod
    def connect(self) -> None:
        """Make this process's AWS calls (and its children's) reach this environment's AWS."""

    @abstractmethod
    def image_destination(self, engine: Engine) -> ImageDestination:
        """Where the build pushes images; logs the engine in where the registry needs it."""

    @abstractmethod
    def image_digest(self, destination: ImageDestination, tag: str) -> str | None:
        """The digest the registry holds under the tag, or None."""

    @abstractmethod
    def serve(self, release: Release, infrastructure_url: str) -> Serving:
        """After Terraform applied the release: where it answers."""

    @abstractmethod
    def stop_release(self) -> bool:
        """Stop a release this machine runs; True if one was running (False where releases run elsewhere)."""

    def before_destroying_bucket(self, bucket: str) -> None:  # noqa: B027 - most kinds need nothing here
        """Prepare the model bucket for `terraform destroy`."""

    def existing_registry(self) -> RegistryWriter | None:
        """The model registry if its bucket exists (None before the first provision); a bucket that
        exists but cannot be read (credentials, network) is a RegistryError."""
        self.connect()
        registry = RegistryWriter.open(self.settings.model_bucket, self.settings.aws_default_region)
        try:
            registry.s3.head_bucket(Bucket=registry.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket"):
                return None
            raise RegistryError(f"model bucket {registry.bucket} cannot be read ({exc})") from exc
        except BotoCoreError as exc:
            raise RegistryError(f"model bucket {registry.bucket} is not reachable ({exc})") from exc
        return registry

    def registry(self) -> RegistryWriter:
        """The model registry in this environment's bucket, which the provision stage creates."""
        registry = self.existing_registry()
        if registry is None:
            bucket = self.settings.model_bucket
            raise RegistryError(f"model bucket {bucket} does not exist: run `python -m pipeline.provision` first")
        return registry
