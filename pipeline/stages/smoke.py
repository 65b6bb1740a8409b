"""Stage `smoke`: prove the live release; promote it on a pass, roll back on a failure.

Reads the deployment (`records.Deployment`, or --url) and quality_gates/ (canaries,
smoke.p99_ms). Waits for /health with backoff up to a deadline, then requires /ready,
checks /version names the deployed model and image, sends the canaries (all must match),
sends bad inputs (each must be a 4xx with a JSON error) and measures /predict p99.
Writes `records.SmokeReport` (+ smoke.xml). A passing release becomes the champion
(registry/champion.json + history); a failing one is rolled back to the champion and
the stage exits 1.
"""

from __future__ import annotations

import argparse

from pipeline import environments
from pipeline.errors import log, run
from pipeline.records import Deployment, SmokeReport
from pipeline.release import promotion, rollback, smoke
from pipeline.release.smoke import SmokeOptions
from pipeline.settings import get_settings

STAGE = "smoke"
WRITES = SmokeReport


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    environment = environments.current(settings)
    parser = argparse.ArgumentParser(prog="python -m pipeline.smoke", description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="endpoint to check instead of the deployed one (no promotion, no rollback)")
    parser.add_argument("--no-rollback", action="store_true", help="report a failure without rolling back")
    SmokeOptions.add_arguments(parser, environment)
    args = parser.parse_args(argv)
    options = SmokeOptions.from_arguments(args)
    say = lambda message: log(STAGE, message)  # noqa: E731

    if args.url:
        checks = smoke.smoke_test(environment, args.url.rstrip("/"), {}, options, say)
        return 0 if all(c.passed for c in checks) else 1
    record = Deployment.read(settings.artifacts_dir)
    checks = smoke.smoke_test(environment, record.endpoint_url, smoke.expected_of(record), options, say)
    version = record.release.model_version
    if all(c.passed for c in checks):
        if promotion.is_champion(environment, record):
            say(f"PASSED: release {version} ({record.release.image}) already is the champion; nothing to promote")
            return 0
        champion = promotion.promote(environment, record)
        say(f"PASSED: release {version} is the champion (previous: {champion['previous']})")
        return 0
    say(f"FAILED: release {version} failed {', '.join(c.name for c in checks if not c.passed)}")
    if args.no_rollback:
        return 1
    outcome = rollback.roll_back(environment, None, record, options, say)
    say(f"release {version} failed smoke; rollback: {outcome}")
    return 1


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
