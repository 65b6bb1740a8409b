"""Stage `provision`: apply infra/shared (model bucket + container registry) for PROJECT_ENV.

Idempotent: when the plan has no changes nothing is applied. Writes
artifacts/provision.json: the stack's outputs (model_bucket_name, model_bucket_arn,
model_bucket_kms_key_arn, repository_url, repository_arn) plus "changed".
"""

from __future__ import annotations

import argparse

from pipeline import aws, infra
from pipeline.cli import StageError, log, run
from pipeline.reports import write_json
from sentiment.settings import get_settings

STAGE = "provision"
ARTIFACT = "artifacts/provision.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.provision", description=__doc__.split("\n")[0])
    parser.add_argument("--destroy", action="store_true", help="destroy the shared stack instead (local/dev only)")
    args = parser.parse_args(argv)
    settings = get_settings()
    tf = infra.stack(settings, "shared", STAGE)
    variables = {
        **infra.common_variables(settings),
        "model_bucket_name": settings.model_bucket,
        "repository_name": settings.ecr_repository,
    }
    if args.destroy:
        if settings.project_env in ("qa", "prod"):
            raise StageError(f"refusing to destroy the shared stack of {settings.project_env} from the pipeline", 2)
        if settings.project_env == "local":
            aws.empty_bucket(settings, settings.model_bucket)
        tf.destroy(variables)
        log(STAGE, "destroyed infra/shared")
        return 0
    plan = infra.terraform_dir(settings) / settings.project_env / "shared.tfplan"
    changed = tf.plan(variables, plan)
    if changed:
        log(STAGE, "applying infra/shared")
        tf.apply(plan)
    else:
        log(STAGE, "infra/shared is up to date; nothing to change")
    outputs = tf.outputs()
    write_json(settings.artifacts_dir / "provision.json", {**outputs, "changed": changed})
    log(STAGE, f"model bucket {outputs['model_bucket_name']}, registry {outputs['repository_url']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
