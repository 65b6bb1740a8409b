"""AWS access for the stages: the emulator in `local`, the normal credential chain elsewhere.

In `local`, connect() makes sure an emulator answers (AWS_ENDPOINT_URL if set, else
one started by pipeline.localaws) and points this process and its children at it with
dummy credentials. In dev/qa/prod nothing is set or faked.
"""

from __future__ import annotations

import os
from typing import Any

from pipeline import localaws
from sentiment.registry import ModelRegistry, RegistryError, s3_client
from sentiment.settings import Settings


def connect(settings: Settings) -> None:
    if settings.project_env != "local":
        return
    endpoint = settings.aws_endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        endpoint = localaws.up(settings.local_aws_dir, settings.local_aws_port).endpoint
    os.environ.update(localaws.environment(settings.aws_default_region, endpoint))


def ensure_state_bucket(settings: Settings) -> str:
    """Create the Terraform state bucket if missing: versioned, encrypted, private. Returns its name."""
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
    return bucket


def empty_bucket(settings: Settings, bucket: str) -> None:
    """Delete every object version and delete marker (local only: the provider's force_destroy loops on moto)."""
    s3 = s3_client(settings.aws_default_region)
    paginator = s3.get_paginator("list_object_versions")
    try:
        for page in paginator.paginate(Bucket=bucket):
            keys = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    except s3.exceptions.NoSuchBucket:
        return


def registry(settings: Settings) -> ModelRegistry:
    """The model registry in the environment's bucket, which the provision stage creates."""
    connect(settings)
    s3 = s3_client(settings.aws_default_region)
    try:
        s3.head_bucket(Bucket=settings.model_bucket)
    except s3.exceptions.ClientError as exc:
        raise RegistryError(
            f"model bucket {settings.model_bucket} is not reachable ({exc}): run `python -m pipeline.provision` first"
        ) from exc
    return ModelRegistry(s3, settings.model_bucket)
