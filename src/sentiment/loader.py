"""Find and load the model the service should serve, or fail with one clear line.

MODEL_VERSION (a version or `champion`) fetches from the model bucket into
MODEL_CACHE_DIR and verifies every file; without it, the local MODEL_DIR is used.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sentiment.artifact import ArtifactError
from sentiment.model_registry import ModelRegistry, ModelRegistryError, cached_copy
from sentiment.runtime import SentimentModel
from sentiment.settings import Settings


def fetch_from_model_registry(settings: Settings, version: str) -> Path:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        trusted_key = settings.trusted_model_key()
        model_registry = ModelRegistry.open(settings.model_bucket, settings.aws_default_region, trusted_key)
        return model_registry.fetch(model_registry.resolve(version), settings.model_cache_dir)
    except (BotoCoreError, ClientError) as exc:
        if version == "champion":
            raise ModelRegistryError(f"model bucket {settings.model_bucket} is unreachable ({exc})") from exc
        try:
            directory = cached_copy(settings.model_cache_dir, version, trusted_key)
        except ModelRegistryError:
            reason = f"model bucket {settings.model_bucket} is unreachable ({exc})"
            raise ModelRegistryError(f"{reason} and no verified copy of {version} is cached") from exc
        print(f"sentiment: bucket unreachable; serving the verified cached copy of {version}", file=sys.stderr)
        return directory


def load_model(settings: Settings) -> SentimentModel:
    if settings.model_version:
        directory = fetch_from_model_registry(settings, settings.model_version)
    else:
        directory = settings.serving_model_dir
    try:
        return SentimentModel(directory)
    except ArtifactError:
        raise
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot load the model in {directory}: {exc}") from exc
