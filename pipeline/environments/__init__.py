"""Where the pipeline runs: one object per environment kind, chosen once, here, from PROJECT_ENV.

  local            AWS emulator on 127.0.0.1 with dummy credentials, a local image registry,
                   releases run on this machine (containers, or processes without an engine)
  dev / qa / prod  real AWS (credentials from Jenkins' binding), ECR, EC2 instances

Stages ask the object (`connect`, `image_destination`, `serve`, `model_registry`, ...) and never
branch on the environment's name.
"""

from __future__ import annotations

from pipeline.environments.aws import AwsEnvironment
from pipeline.environments.base import Environment, ImageDestination, Serving
from pipeline.environments.local import LocalEnvironment
from pipeline.settings import PipelineSettings

__all__ = ["Environment", "ImageDestination", "Serving", "current"]


def current(settings: PipelineSettings) -> Environment:
    """The environment object for settings.project_env."""
    return LocalEnvironment(settings) if settings.project_env == "local" else AwsEnvironment(settings)
