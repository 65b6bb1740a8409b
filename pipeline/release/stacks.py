"""What provision and deploy share: a Terraform driver for a stack, wired to the environment's state.

The state lives in an S3 bucket per environment (`<project>-<env>-tfstate`), which is
created here on first use: versioned, KMS-encrypted, private and, where the environment's
S3 speaks TLS, TLS-only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pipeline.environments import Environment
from pipeline.release.terraform import Terraform
from pipeline.settings import PipelineSettings
from sentiment.model_registry import s3_client


def tls_only_policy(bucket: str) -> str:
    """A bucket policy that refuses every request not made over TLS."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def ensure_state_bucket(settings: PipelineSettings, tls_only: bool) -> str:
    """Create the Terraform state bucket if missing. Returns its name."""
    s3 = s3_client(settings.aws_default_region)
    bucket = settings.tf_state_bucket
    try:
        s3.head_bucket(Bucket=bucket)
        return bucket
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
            raise
    create: dict[str, Any] = {"Bucket": bucket}
    if settings.aws_default_region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": settings.aws_default_region}
    s3.create_bucket(**create)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    if tls_only:
        s3.put_bucket_policy(Bucket=bucket, Policy=tls_only_policy(bucket))
    return bucket


def stack(environment: Environment, name: str, log: Callable[[str], None]) -> Terraform:
    """Connect, bootstrap the state bucket and init infra/<name> for the environment."""
    settings = environment.settings
    environment.connect()
    state_bucket = ensure_state_bucket(settings, environment.tls_only_buckets)
    tf = Terraform(name, settings.project_env, settings.terraform_dir.resolve(), log=log)
    log(f"terraform init infra/{name} (state s3://{state_bucket}/{name}/terraform.tfstate)")
    tf.init({"bucket": state_bucket, "key": f"{name}/terraform.tfstate", "region": settings.aws_default_region})
    return tf


def common_variables(settings: PipelineSettings) -> dict[str, Any]:
    return {
        "project_name": settings.project_name,
        "environment": settings.project_env,
        "region": settings.aws_default_region,
    }
