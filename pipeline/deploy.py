"""Stage `deploy`: plan infra/service for the release, save the plan, apply exactly that plan.

The release is the image from the build stage (artifacts/image.json) and the model
version from the publish stage (artifacts/publish.json); --image/--model-version
override them (redeploys, rollbacks). Jenkins runs --plan-only, waits for approval in
prod, then --apply-plan. In `local` the emulated instance never boots, so the release
also runs here (its image in the local container engine, or gunicorn when the build stage
had no engine) and that URL is the endpoint.
Writes artifacts/deploy.json: {"release": {...}, "endpoint_url", "runner", "instance_id",
"infrastructure_url"}.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import aws, container_engine, infra, local_release
from pipeline.cli import StageError, log, run
from pipeline.provenance import git_sha
from pipeline.reports import write_json
from sentiment.settings import Settings, get_settings

STAGE = "deploy"
ARTIFACT = "artifacts/deploy.json"


def read_artifact(path: Path, producer: str) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise StageError(f"{path} is missing: run `python -m pipeline.{producer}` first", exit_code=2) from None
    except ValueError as exc:
        raise StageError(f"{path} is not valid JSON: {exc}", exit_code=2) from exc


def release_for(
    settings: Settings, image: str | None, model_version: str | None, sha: str | None = None, built: bool = True
) -> dict[str, Any]:
    shared = read_artifact(settings.artifacts_dir / "provision.json", "provision")
    version = model_version or read_artifact(settings.artifacts_dir / "publish.json", "publish")["version"]
    if version == "champion":
        version = aws.registry(settings).resolve("champion")
    sha = sha or git_sha()
    if image is None:
        image_file = settings.artifacts_dir / "image.json"
        if image_file.is_file():
            image, built = read_artifact(image_file, "build")["reference"], True
        elif settings.project_env == "local":
            image, built = f"{shared['repository_url']}:{sha[:12]}-{version}", False
        else:
            raise StageError(f"{image_file} is missing: run `python -m pipeline.build` first", exit_code=2)
    return {
        "image": image,
        "image_built": built,
        "model_version": version,
        "git_sha": sha,
        "environment": settings.project_env,
        "model_bucket": shared["model_bucket_name"],
        "shared": {k: shared[k] for k in ("model_bucket_arn", "model_bucket_kms_key_arn", "repository_arn")},
    }


def variables(settings: Settings, release: dict[str, Any]) -> dict[str, Any]:
    return {
        **infra.common_variables(settings),
        "image": release["image"],
        "model_version": release["model_version"],
        "model_bucket_name": release["model_bucket"],
        **release["shared"],
    }


def serve_locally(settings: Settings, release: dict[str, Any]) -> dict[str, Any]:
    env = {
        **os.environ,
        "MODEL_VERSION": release["model_version"],
        "MODEL_BUCKET_NAME": release["model_bucket"],
        "MODEL_CACHE_DIR": str((settings.artifacts_dir / "model-cache").resolve()),
        "IMAGE_REF": release["image"],
        "GIT_SHA": release["git_sha"],
        "GUNICORN_WORKERS": os.environ.get("GUNICORN_WORKERS", "2"),
    }
    engine = container_engine.find(settings.container_engine) if release["image_built"] else None
    runner = f"its image in {engine.name}" if engine else "gunicorn (no image was built)"
    log(STAGE, f"local: the emulated instance never boots; serving the release here with {runner}")
    return local_release.start(settings.artifacts_dir, release, env, engine)


def deploy(settings: Settings, release: dict[str, Any], plan_only: bool, apply_plan: bool) -> dict[str, Any] | None:
    tf = infra.stack(settings, "service", STAGE)
    plan_dir = infra.terraform_dir(settings) / settings.project_env
    plan_file, planned_release = plan_dir / "service.tfplan", plan_dir / "service.release.json"
    if not apply_plan:
        changed = tf.plan(variables(settings, release), plan_file)
        planned_release.write_text(json.dumps(release, indent=2))
        log(
            STAGE,
            f"planned {release['image']} with model {release['model_version']}"
            f" ({'changes' if changed else 'no infrastructure changes'}); plan saved to {plan_file}",
        )
        if plan_only:
            return None
    else:
        release = read_artifact(planned_release, "deploy --plan-only")
    tf.apply(plan_file)
    outputs = tf.outputs()
    record = {
        "release": {**release, "deployed": datetime.now(UTC).isoformat(timespec="seconds")},
        "infrastructure_url": outputs["endpoint_url"],
        "instance_id": outputs.get("instance_id"),
        "endpoint_url": outputs["endpoint_url"],
        "runner": "ec2",
    }
    if settings.project_env == "local":
        state = serve_locally(settings, record["release"])
        runner = "container" if state["container"] else "gunicorn"
        record |= {"endpoint_url": state["url"], "runner": runner, "local_pid": state["pid"]}
    write_json(settings.artifacts_dir / "deploy.json", record)
    log(STAGE, f"release {release['model_version']} ({release['image']}) is live at {record['endpoint_url']}")
    return record


def destroy(settings: Settings) -> int:
    if settings.project_env in ("qa", "prod"):
        raise StageError(f"refusing to destroy the service of {settings.project_env} from the pipeline", exit_code=2)
    local_release.stop(settings.artifacts_dir)
    release = release_for(settings, None, None)
    infra.stack(settings, "service", STAGE).destroy(variables(settings, release))
    log(STAGE, "destroyed infra/service")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.deploy", description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--plan-only", action="store_true", help="plan and save the plan; apply nothing")
    mode.add_argument("--apply-plan", action="store_true", help="apply the plan saved by --plan-only")
    mode.add_argument("--stop-local", action="store_true", help="stop the release running on this machine (local)")
    mode.add_argument("--destroy", action="store_true", help="destroy the service stack (local/dev only)")
    parser.add_argument("--image", help="image reference to deploy (default: artifacts/image.json)")
    parser.add_argument("--model-version", help="model version to deploy (default: artifacts/publish.json)")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.stop_local:
        stopped = local_release.stop(settings.artifacts_dir)
        log(STAGE, "stopped the local release" if stopped else "no local release is running")
        return 0
    if args.destroy:
        return destroy(settings)
    release = None if args.apply_plan else release_for(settings, args.image, args.model_version)
    deploy(settings, release or {}, args.plan_only, args.apply_plan)
    return 0


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
