"""The service's typed settings, read from the tracked `.env`, an untracked `.env.local` and the environment.

The environment wins over `.env.local`, which wins over `.env`; neither file holds secrets.
Only what the running service reads lives here; the pipeline's own settings extend this
class in `pipeline.settings`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sentiment.versions import validate_model_version

Environment = Literal["local", "dev", "qa", "prod"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=(".env", ".env.local"), env_file_encoding="utf-8", extra="ignore")

    project_name: str = Field(
        "sentiment-api",
        pattern=r"^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$",
        description="Prefix of every resource name (bucket, repository, stacks)",
    )
    project_env: Environment = Field("local", description="Where the pipeline deploys: the emulator or an AWS account")
    aws_default_region: str = Field("eu-west-1", description="AWS region of every resource")

    artifacts_dir: Path = Field(Path("artifacts"), description="Where the pipeline writes; the default model is here")
    model_dir: Path | None = Field(None, description="Local model artifact directory the service loads")
    model_version: str | None = Field(None, description="Model version to serve from the bucket, or `champion`")
    model_cache_dir: Path = Field(
        Path.home() / ".cache" / "sentiment-models",
        description="Where the service keeps verified copies of downloaded model versions",
    )
    model_bucket_name: str | None = Field(None, description="Model bucket; default `<project>-<env>-models`")

    image_ref: str = Field("", description="Image reference of the running release, reported by /version")
    git_sha: str = Field("", description="Git revision of the running code, reported by /version")
    sentiment_test_fault: str = Field(
        "", description="Tests only: a fault to inject (sentiment.faults); empty in every shipped configuration"
    )

    @field_validator("model_version")
    @classmethod
    def _a_model_version(cls, value: str | None) -> str | None:
        return None if value is None else validate_model_version(value)

    @property
    def model_bucket(self) -> str:
        return self.model_bucket_name or f"{self.project_name}-{self.project_env}-models"

    @property
    def candidate_dir(self) -> Path:
        return self.artifacts_dir / "candidate"

    @property
    def serving_model_dir(self) -> Path:
        return self.model_dir or self.candidate_dir


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
