"""Stage `provision`: apply infra/shared (model bucket + container registry) for PROJECT_ENV.

Reads infra/shared and the settings; writes `records.ProvisionedStack` (the stack's
outputs plus "changed"). Idempotent: when the plan has no changes nothing is applied.
"""

from __future__ import annotations

import argparse

from pipeline import environments
from pipeline.errors import StageError, log, run
from pipeline.records import ProvisionedStack
from pipeline.release import stacks
from pipeline.settings import get_settings

STAGE = "provision"
WRITES = ProvisionedStack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.provision", description=__doc__.split("\n")[0])
    parser.add_argument("--destroy", action="store_true", help="destroy the shared stack instead (local/dev only)")
    args = parser.parse_args(argv)
    settings = get_settings()
    environment = environments.current(settings)
    tf = stacks.stack(environment, "shared", lambda m: log(STAGE, m))
    variables = {
        **stacks.common_variables(settings),
        "model_bucket_name": settings.model_bucket,
        "repository_name": settings.ecr_repository,
    }
    if args.destroy:
        if not environment.may_destroy:
            raise StageError(f"refusing to destroy the shared stack of {environment.name} from the pipeline", 2)
        environment.before_destroying_bucket(settings.model_bucket)
        tf.destroy(variables)
        log(STAGE, "destroyed infra/shared")
        return 0
    plan = settings.terraform_dir / environment.name / "shared.tfplan"
    changed = tf.plan(variables, plan)
    if changed:
        log(STAGE, "applying infra/shared")
        tf.apply(plan)
    else:
        log(STAGE, "infra/shared is up to date; nothing to change")
    outputs = tf.outputs()
    ProvisionedStack.from_dict({**outputs, "changed": changed}).write(settings.artifacts_dir)
    log(STAGE, f"model bucket {outputs['model_bucket_name']}, registry {outputs['repository_url']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
