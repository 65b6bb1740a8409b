"""The one typed settings object, read from the tracked `.env`, an untracked `.env.local` and the environment.

The environment wins over `.env.local`, which wins over `.env`; neither file holds secrets
(`.env.local` keeps machine facts such as the base image .ci/containers made). Derived names (bucket,
repository) follow `<project>-<env>-...` unless set explicitly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["local", "dev", "qa", "prod"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=(".env", ".env.local"), env_file_encoding="utf-8", extra="ignore")

    project_name: str = Field("sentiment-api", pattern=r"^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$")
    project_env: Environment = "local"
    aws_default_region: str = "eu-west-1"

    artifacts_dir: Path = Path("artifacts")
    model_dir: Path | None = Field(None, description="Local model artifact directory the service loads")
    model_version: str | None = Field(None, description="Model version to serve from the bucket (registry issue)")
    model_cache_dir: Path = Path.home() / ".cache" / "sentiment-models"

    model_bucket_name: str | None = None
    ecr_repository_name: str | None = None
    image_ref: str = Field("", description="Image reference of the running release, reported by /version")
    git_sha: str = Field("", description="Git revision of the running code, reported by /version")

    seed: int = 42

    aws_endpoint_url: str | None = Field(None, description="AWS API endpoint; set for the emulator in `local`")
    local_aws_port: int = Field(0, ge=0, lt=65536, description="Port for the local AWS emulator; 0 = any free port")
    local_registry_port: int = Field(
        0, ge=0, lt=65536, description="Port for the local image registry; 0 = its previous port, else any free one"
    )
    container_engine: str | None = Field(None, description="docker or podman; default: the first of them that works")
    base_image: str = Field("", description="Base image for the Dockerfile; empty = the Dockerfile's default")

    @property
    def model_bucket(self) -> str:
        return self.model_bucket_name or f"{self.project_name}-{self.project_env}-models"

    @property
    def ecr_repository(self) -> str:
        return self.ecr_repository_name or f"{self.project_name}-{self.project_env}"

    @property
    def tf_state_bucket(self) -> str:
        return f"{self.project_name}-{self.project_env}-tfstate"

    @property
    def candidate_dir(self) -> Path:
        return self.artifacts_dir / "candidate"

    @property
    def reports_dir(self) -> Path:
        return self.artifacts_dir / "reports"

    @property
    def local_aws_dir(self) -> Path:
        return self.artifacts_dir / "localaws"

    @property
    def local_registry_dir(self) -> Path:
        return self.artifacts_dir / "registry"

    @property
    def serving_model_dir(self) -> Path:
        return self.model_dir or self.candidate_dir


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
