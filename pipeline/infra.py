"""What provision and deploy share: a Terraform driver for a stack, wired to the environment's state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline import aws
from pipeline.cli import log
from pipeline.terraform import Terraform
from sentiment.settings import Settings


def terraform_dir(settings: Settings) -> Path:
    return settings.artifacts_dir / "terraform"


def stack(settings: Settings, name: str, stage: str) -> Terraform:
    """Connect to AWS (the emulator in `local`), bootstrap the state bucket, init the stack."""
    aws.connect(settings)
    state_bucket = aws.ensure_state_bucket(settings)
    tf = Terraform(name, settings.project_env, terraform_dir(settings).resolve(), log=lambda m: log(stage, m))
    log(stage, f"terraform init infra/{name} (state s3://{state_bucket}/{name}/terraform.tfstate)")
    tf.init({"bucket": state_bucket, "key": f"{name}/terraform.tfstate", "region": settings.aws_default_region})
    return tf


def common_variables(settings: Settings) -> dict[str, Any]:
    return {
        "project_name": settings.project_name,
        "environment": settings.project_env,
        "region": settings.aws_default_region,
    }
