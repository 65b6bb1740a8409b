"""AWS access for the stages: the emulator in `local`, the normal credential chain elsewhere.

In `local`, connect() makes sure an emulator answers (AWS_ENDPOINT_URL if set, else
one started by pipeline.localaws) and points this process and its children at it with
dummy credentials. In dev/qa/prod nothing is set or faked.
"""

from __future__ import annotations

import os
from typing import Any

from pipeline import localaws
from sentiment.registry import ModelRegistry, s3_client
from sentiment.settings import Settings


def connect(settings: Settings) -> None:
    if settings.project_env != "local":
        return
    endpoint = settings.aws_endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        endpoint = localaws.up(settings.local_aws_dir, settings.local_aws_port).endpoint
    os.environ.update(localaws.environment(settings, endpoint))


def ensure_local_bucket(s3: Any, settings: Settings) -> None:
    """In `local` only, create the model bucket if missing (the provision stage will own it with Terraform)."""
    if settings.project_env != "local":
        return
    bucket = settings.model_bucket
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except s3.exceptions.ClientError:
        pass
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": settings.aws_default_region})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
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


def registry(settings: Settings) -> ModelRegistry:
    connect(settings)
    s3 = s3_client(settings.aws_default_region)
    ensure_local_bucket(s3, settings)
    return ModelRegistry(s3, settings.model_bucket)
