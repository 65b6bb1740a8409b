"""The service's typed settings, read from the tracked `.env`, an untracked `.env.local` and the environment.

The environment wins over `.env.local`, which wins over `.env`; neither file holds secrets.
Only what the running service reads lives here; the pipeline's own settings extend this
class in `pipeline.settings`.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sentiment.model_signature import SignatureError
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

    model_signing_public_key: str | None = Field(
        None,
        description="Public key (PEM text, or a path to it) model signatures are checked with; default: the "
        "environment's committed key (sentiment/signing_keys/<env>.pub), locally <artifacts>/keys/model-signing.pub",
    )
    model_signature_required: bool | None = Field(
        None,
        description="Refuse a model whose signature does not verify; default: on in dev/qa/prod, locally on once "
        "the local key pair exists",
    )
    image_ref: str = Field("", description="Image reference of the running release (/version shows an opaque id of it)")
    emf_service: str | None = Field(
        None,
        description="Service dimension of the CloudWatch EMF metric lines each worker writes to stdout "
        "(sentiment.emf); default <project_name>-<project_env> in dev/qa/prod, none locally; `off`: none",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
    )
    emf_interval_s: float = Field(
        60.0, gt=0, le=3600, description="Seconds each worker adds up before writing its EMF lines (CloudWatch: 60)"
    )
    sentiment_test_fault: str = Field(
        "", description="Tests only: a fault to inject (sentiment.faults); empty in every shipped configuration"
    )

    @field_validator("model_version")
    @classmethod
    def _a_model_version(cls, value: str | None) -> str | None:
        return None if value is None else validate_model_version(value)

    @property
    def emf_dimension(self) -> str | None:
        """The Service the EMF lines name, or None when none are written."""
        if self.emf_service == "off":
            return None
        if self.emf_service is None:
            return None if self.project_env == "local" else f"{self.project_name}-{self.project_env}"
        return self.emf_service

    @property
    def model_bucket(self) -> str:
        return self.model_bucket_name or f"{self.project_name}-{self.project_env}-models"

    @property
    def local_public_key_file(self) -> Path:
        return self.artifacts_dir / "keys" / "model-signing.pub"

    def trusted_model_key(self) -> bytes | None:
        """The public key (PEM) every model signature must verify with, or None when signatures are not checked."""
        if self.model_signature_required is False:
            return None
        if self.model_signing_public_key:
            configured = self.model_signing_public_key
            if "-----BEGIN" in configured:
                return configured.encode()
            try:
                return Path(configured).read_bytes()
            except OSError as exc:
                raise SignatureError(f"MODEL_SIGNING_PUBLIC_KEY: cannot read {configured} ({exc.strerror})") from None
        if self.project_env != "local":
            return files("sentiment").joinpath("signing_keys", f"{self.project_env}.pub").read_bytes()
        if self.local_public_key_file.is_file():
            return self.local_public_key_file.read_bytes()
        if self.model_signature_required:
            raise SignatureError(
                f"MODEL_SIGNATURE_REQUIRED is set but there is no public key ({self.local_public_key_file} is missing "
                "and MODEL_SIGNING_PUBLIC_KEY is unset)"
            )
        return None

    @property
    def candidate_dir(self) -> Path:
        return self.artifacts_dir / "candidate"

    @property
    def serving_model_dir(self) -> Path:
        return self.model_dir or self.candidate_dir


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
