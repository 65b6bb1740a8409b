"""Find and load the model the service should serve, or fail with one clear line."""

from __future__ import annotations

from sentiment.artifact import ArtifactError
from sentiment.runtime import SentimentModel
from sentiment.settings import Settings


def load_model(settings: Settings) -> SentimentModel:
    """The local artifact directory (MODEL_DIR, default artifacts/candidate)."""
    directory = settings.serving_model_dir
    try:
        return SentimentModel(directory)
    except ArtifactError:
        raise
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot load the model in {directory}: {exc}") from exc
