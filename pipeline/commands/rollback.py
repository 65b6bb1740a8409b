"""`python -m pipeline.rollback [--to VERSION]`: redeploy a previous successful release and smoke-test it.

Without --to, the target is the champion (the last release that passed smoke).
With --to, the newest successful release of that model version in the history.
When the target's release still runs beside the current one (locally the previous release stays
parked, drained and without traffic, until the next deploy), the traffic moves back to it in
seconds; otherwise it is redeployed through the same Terraform path as any deploy. Either way
it is smoke-tested again.
"""

from __future__ import annotations

import argparse

from pipeline import environments
from pipeline.errors import log, run
from pipeline.records import Deployment, ProvisionedStack, Stage
from pipeline.release.rollback import roll_back
from pipeline.release.smoke import SmokeOptions
from pipeline.settings import get_settings

STAGE = "rollback"
DECLARATION = Stage(
    STAGE, reads=(ProvisionedStack,), writes=(Deployment,),
    inputs="the model registry's champion and history, the image's signature", outputs="the champion (as a rollback)",
)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    environment = environments.current(settings)
    parser = argparse.ArgumentParser(prog="python -m pipeline.rollback", description=__doc__.split("\n")[0])
    parser.add_argument("--to", metavar="VERSION", help="model version of a previous release (default: the champion)")
    SmokeOptions.add_arguments(parser, environment)
    args = parser.parse_args(argv)
    options = SmokeOptions.from_arguments(args)
    outcome = roll_back(environment, args.to, None, options, lambda m: log(STAGE, m))
    log(STAGE, outcome)
    return 0 if outcome.startswith("OK") else 1


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
