"""`python -m pipeline.rollback [--to VERSION]`: redeploy a previous successful release and smoke-test it.

Without --to, the target is the champion (the last release that passed smoke).
With --to, the newest successful release of that model version in the history.
The rollback goes through the same Terraform path as any deploy.
"""

from __future__ import annotations

import argparse
from typing import Any

from pipeline import aws, deploy, local_release, model_registry
from pipeline.cli import StageError, log, run
from sentiment.settings import Settings, get_settings

STAGE = "rollback"


def target_release(settings: Settings, to: str | None) -> dict[str, Any] | None:
    registry = aws.registry(settings)
    if to is None:
        return registry.champion()
    releases = [e for e in model_registry.history(registry) if e["version"] == to and e.get("image")]
    if not releases:
        raise StageError(f"no successful release of model {to} in the history of {registry.bucket}", exit_code=2)
    return releases[-1]


def roll_back(settings: Settings, to: str | None, failed: dict[str, Any] | None, args: argparse.Namespace) -> str:
    """Redeploy and smoke-test the target; returns a one-line outcome."""
    from pipeline import smoke  # smoke calls back into this module

    target = target_release(settings, to)
    if target is None:
        if settings.project_env == "local":
            local_release.stop(settings.artifacts_dir)
            return "no previous successful release to roll back to; the failed release was stopped"
        return "no previous successful release to roll back to; the failed release is still deployed"
    log(STAGE, f"redeploying {target['version']} ({target['image']})")
    release = deploy.release_for(
        settings, target["image"], target["version"], sha=target.get("git_sha"), built=target.get("image_built", True)
    )
    record = deploy.deploy(settings, release, plan_only=False, apply_plan=False)
    if record is None:  # only a plan-only deploy returns nothing
        raise StageError("the rollback deploy applied nothing")
    checks = smoke.smoke_test(settings, record["endpoint_url"], smoke.expected_of(record), args, "smoke-rollback")
    if not all(c.passed for c in checks):
        return f"FAILED: {target['version']} was redeployed but fails smoke too; manual action needed"
    failed_release = failed["release"] if failed else None
    smoke.promote(settings, record, kind="rollback", rolled_back_from=failed_release)
    return f"OK: {target['version']} ({target['image']}) serves again at {record['endpoint_url']}"


def main(argv: list[str] | None = None) -> int:
    from pipeline import smoke

    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m pipeline.rollback", description=__doc__.split("\n")[0])
    parser.add_argument("--to", metavar="VERSION", help="model version of a previous release (default: the champion)")
    smoke.add_options(parser, settings)
    args = parser.parse_args(argv)
    outcome = roll_back(settings, args.to, None, args)
    log(STAGE, outcome)
    return 0 if outcome.startswith("OK") else 1


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
