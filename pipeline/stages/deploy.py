"""Stage `deploy`: plan infra/service for the release, save the plan, apply exactly that plan.

Reads the image (`records.ImageRecord`), the published version (`records.PublishedVersion`)
and the shared stack (`records.ProvisionedStack`); --image/--model-version override them
(redeploys, rollbacks). Jenkins runs --plan-only (writes the plan and `records.Release`
beside it), waits for approval in prod, then --apply-plan. The environment then says where
the release answers (in `local` the emulated instance never boots, so the release also runs
here). Writes `records.Deployment`.
"""

from __future__ import annotations

import argparse

from pipeline import environments
from pipeline.errors import log, run
from pipeline.provenance import git_sha
from pipeline.records import DeliveryReport, Deployment, ImageRecord, ProvisionedStack, PublishedVersion, Release, Stage
from pipeline.release import deployment
from pipeline.settings import get_settings

STAGE = "deploy"
DECLARATION = Stage(
    STAGE, reads=(ImageRecord, PublishedVersion, ProvisionedStack, Release),
    writes=(Deployment, Release, DeliveryReport),
    inputs="`infra/service`, `quality_gates/delivery.toml`, the image's signature",
    outputs="the release behind the endpoint, in judged steps",
)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.deploy", description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--plan-only", action="store_true", help="plan and save the plan; apply nothing")
    mode.add_argument("--apply-plan", action="store_true", help="apply the plan saved by --plan-only")
    mode.add_argument("--stop-local", action="store_true", help="stop the release running on this machine (local)")
    mode.add_argument("--destroy", action="store_true", help="destroy the service stack (local/dev only)")
    parser.add_argument("--image", help="image reference to deploy (default: the build stage's image)")
    parser.add_argument("--model-version", help="model version to deploy (default: the published version)")
    parser.add_argument(
        "--redeploy",
        action="store_true",
        help="start the release again even when it already serves (through the steps)",
    )
    args = parser.parse_args(argv)
    environment = environments.current(get_settings())
    say = lambda message: log(STAGE, message)  # noqa: E731
    if args.stop_local:
        say("stopped the local release" if environment.stop_local_release() else "no local release is running")
        return 0
    if args.apply_plan:
        deployment.apply_saved_plan(environment, say)
        return 0
    release = deployment.release_for(environment, args.image, args.model_version, git_sha())
    if args.destroy:
        deployment.destroy(environment, release, say)
        say("destroyed infra/service")
    elif args.plan_only:
        deployment.plan(environment, release, say)
    else:
        deployment.deploy(environment, release, say, redeploy=args.redeploy)
    return 0


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
