"""The pipeline's typed settings: the service's settings plus what only the stages read.

Same sources and precedence as `sentiment.settings` (environment > `.env.local` > `.env`).
Derived names (repository, state bucket, artifact locations) follow `<project>-<env>-...`
and ARTIFACTS_DIR unless set explicitly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field

from sentiment.settings import Settings


class PipelineSettings(Settings):
    seed: int = Field(42, description="Seed of training (and of everything random in it)")
    model_arch: str = Field(
        "ngram", description="Architecture `python -m pipeline.train` trains (pipeline.ml.architectures); --arch wins"
    )
    dataset: str = Field(
        "builtin",
        description="Training data: `builtin` (the Rotten Tomatoes corpus), a JSONL, CSV or Parquet file, or "
        "s3://BUCKET/KEY of one (docs/how-to/bring-your-own-data.md)",
    )
    dataset_version: str | None = Field(None, description="S3 object version of DATASET to read; unset: the current")
    dataset_text_column: str = Field("text", description="DATASET's column holding the text")
    dataset_label_column: str = Field("label", description="DATASET's column holding the label")
    dataset_labels: dict[str, int] = Field(
        default_factory=lambda: {"positive": 1, "negative": 0},
        description="DATASET's label values (as text) -> 1 (positive) or 0 (negative), as JSON",
    )
    # Who and which build a promotion is recorded with (Jenkins sets these; APPROVER comes from the
    # prod approval's submitterParameter).
    approver: str | None = Field(None, description="Who approved a prod deploy (Jenkins' input step sets it)")
    build_user_id: str | None = Field(None, description="Who started the build (Jenkins sets it)")
    build_url: str | None = Field(None, description="The build that promoted a release (Jenkins sets it)")
    quality_gates_dir: Path = Field(Path("quality_gates"), description="Thresholds, sanity set, suites, canaries")
    ecr_repository_name: str | None = Field(None, description="Image repository; default `<project>-<env>`")

    aws_endpoint_url: str | None = Field(None, description="AWS API endpoint; set for the emulator in `local`")
    local_aws_port: int = Field(0, ge=0, lt=65536, description="Port for the local AWS emulator; 0 = any free port")
    local_aws_credentials: Literal["dummy", "bound"] = Field(
        "dummy",
        description="Credentials `local` sends the emulator: `dummy` (its own), or `bound` (the AWS-like mode: "
        "the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY its caller bound, as Jenkins binds them per stage; none stops)",
    )
    local_image_registry_port: int = Field(
        0, ge=0, lt=65536, description="Port for the local image registry; 0 = its previous port, else any free one"
    )
    local_endpoint_port: int = Field(
        8080, gt=0, lt=65536, description="Loopback port of the local stable endpoint (the load balancer)"
    )
    local_prometheus_port: int = Field(
        0, ge=0, lt=65536, description="Port for `python -m pipeline.local prometheus up`; 0 = any free port"
    )
    local_serve_workers: int = Field(2, ge=1, description="Worker processes of a local release (its SERVE_WORKERS)")
    local_serve_threads: int = Field(4, ge=1, description="Threads per worker of a local release (its SERVE_THREADS)")
    delivery_hold_s: float | None = Field(
        None, ge=0, description="Override every traffic step's hold time in quality_gates/delivery.toml (tests)"
    )
    model_signing_key_file: Path | None = Field(
        None,
        description="Private key (PEM) `publish` signs model versions with: in dev/qa/prod the Jenkins secret file "
        "bound in Publish; locally <artifacts>/keys/model-signing.key, made on first use",
    )
    image_signing_key_file: Path | None = Field(
        None,
        description="Private key (PEM) `build` signs images with: in dev/qa/prod the Jenkins secret file bound in "
        "Build; locally <artifacts>/keys/image-signing.key, made on first use",
    )
    container_engine: str | None = Field(None, description="docker or podman; default: the first of them that works")
    base_image: str = Field("", description="Base image for the Dockerfile; empty = the Dockerfile's default")

    @property
    def ecr_repository(self) -> str:
        return self.ecr_repository_name or f"{self.project_name}-{self.project_env}"

    @property
    def tf_state_bucket(self) -> str:
        return f"{self.project_name}-{self.project_env}-tfstate"

    @property
    def reports_dir(self) -> Path:
        return self.artifacts_dir / "reports"

    @property
    def thresholds_file(self) -> Path:
        return self.quality_gates_dir / "thresholds.toml"

    @property
    def data_thresholds_file(self) -> Path:
        return self.quality_gates_dir / "data.toml"

    @property
    def smoke_file(self) -> Path:
        """The smoke budget, outside the blessing: changing it does not un-bless a model."""
        return self.quality_gates_dir / "smoke.toml"

    @property
    def delivery_file(self) -> Path:
        """The traffic steps of a release and the thresholds that abort it."""
        return self.quality_gates_dir / "delivery.toml"

    @property
    def terraform_dir(self) -> Path:
        return self.artifacts_dir / "terraform"

    @property
    def local_aws_dir(self) -> Path:
        return self.artifacts_dir / "localaws"

    @property
    def local_image_registry_dir(self) -> Path:
        return self.artifacts_dir / "image-registry"

    @property
    def local_release_dir(self) -> Path:
        return self.artifacts_dir / "local_release"

    @property
    def local_endpoint_dir(self) -> Path:
        return self.artifacts_dir / "endpoint"

    @property
    def local_prometheus_dir(self) -> Path:
        return self.artifacts_dir / "prometheus"


@lru_cache(maxsize=1)
def get_settings() -> PipelineSettings:
    return PipelineSettings()
