"""Promote a release that passed its smoke test to champion, recorded with who did it and from which build."""

from __future__ import annotations

import getpass
from typing import Any

from pipeline.environments import Environment
from pipeline.records import Deployment
from pipeline.settings import PipelineSettings


def who(settings: PipelineSettings) -> dict[str, str | None]:
    """Who promotes and from which build: the prod approver, else the Jenkins user, else the OS user."""
    promoted_by = settings.approver or settings.build_user_id or getpass.getuser()
    return {"promoted_by": promoted_by, "approved_by": settings.approver, "build_url": settings.build_url}


def is_champion(environment: Environment, record: Deployment) -> bool:
    """True when the champion already is this deployment's release (model version, image and deploy time):
    a rerun that deployed nothing new promotes nothing again."""
    champion = environment.model_registry().champion() or {}
    release = record.release
    return (champion.get("version"), champion.get("image"), champion.get("deployed")) == (
        release.model_version, release.image, release.deployed,
    )  # fmt: skip


def promote(environment: Environment, record: Deployment, kind: str = "release", **extra: Any) -> dict[str, Any]:
    release = record.release
    details = {
        **who(environment.settings),
        "image": release.image,
        "image_built": release.image_built,
        "git_sha": release.git_sha,
        "endpoint_url": record.endpoint_url,
        "deployed": release.deployed,
        "kind": kind,
        **extra,
    }
    return environment.model_registry().promote(release.model_version, details)
