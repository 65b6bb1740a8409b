"""Stage `smoke`: prove the live release; promote it on a pass, roll back on a failure.

Reads the endpoint and the release from artifacts/deploy.json (or --url). Waits for
/health with backoff up to a deadline, then requires /ready, checks /version names the
deployed model and image, sends the canaries in quality_gates/canaries.jsonl (all must
match), sends bad inputs (each must be a 4xx with a JSON error) and measures /predict
p99 against `smoke.p99_ms` in the thresholds file. Writes artifacts/reports/smoke.json
and smoke.xml. A passing release becomes the champion (registry/champion.json + history).
A failing one is rolled back to the champion (pipeline.rollback) and the stage exits 1.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from pipeline import aws, model_registry, probe, rollback
from pipeline.cli import StageError, log, run
from pipeline.deploy import read_artifact
from pipeline.gate import QUALITY_GATES
from pipeline.gate_config import GateConfigError, load_thresholds
from pipeline.reports import CheckResult, print_checks, write_json, write_junit
from sentiment.settings import Settings, get_settings

STAGE = "smoke"
ARTIFACT = "artifacts/reports/smoke.json"


def default_deadline(settings: Settings) -> float:
    return 60.0 if settings.project_env == "local" else 900.0  # an EC2 instance takes minutes to boot


def smoke_test(
    settings: Settings, url: str, expected: dict[str, str], args: argparse.Namespace, report_name: str = "smoke"
) -> list[CheckResult]:
    try:
        budget = load_thresholds(args.thresholds)["smoke.p99_ms"].limit
    except (GateConfigError, KeyError) as exc:
        raise StageError(f"{args.thresholds}: no usable smoke.p99_ms threshold ({exc})", exit_code=2) from exc
    started = time.monotonic()
    log(STAGE, f"checking {url}")
    checks = probe.run_checks(
        url, expected, args.quality_gates, budget, args.requests, args.deadline, log=lambda m: log(STAGE, m)
    )
    passed = all(c.passed for c in checks)
    reports = settings.reports_dir
    write_json(
        reports / f"{report_name}.json",
        {"stage": STAGE, "url": url, "expected": expected, "passed": passed, "checks": [c.__dict__ for c in checks]},
    )
    write_junit(reports / f"{report_name}.xml", report_name, checks, time.monotonic() - started)
    print_checks(STAGE, checks)
    return checks


def expected_of(record: dict[str, Any]) -> dict[str, str]:
    release = record["release"]
    return {"model_version": release["model_version"], "image": release["image"]}


def promote(settings: Settings, record: dict[str, Any], kind: str = "release", **extra: Any) -> dict[str, Any]:
    release = record["release"]
    details = {
        "image": release["image"],
        "image_built": release.get("image_built", True),
        "git_sha": release["git_sha"],
        "endpoint_url": record["endpoint_url"],
        "deployed": release.get("deployed"),
        "kind": kind,
        **extra,
    }
    return model_registry.promote(aws.registry(settings), release["model_version"], details)


def add_options(parser: argparse.ArgumentParser, settings: Settings) -> None:
    parser.add_argument(
        "--deadline", type=float, default=default_deadline(settings), help="seconds to wait for /health"
    )
    parser.add_argument("--requests", type=int, default=200, help="requests for the latency measurement")
    parser.add_argument("--thresholds", type=Path, default=QUALITY_GATES / "thresholds.toml")
    parser.add_argument("--quality-gates", type=Path, default=QUALITY_GATES, help="directory with canaries.jsonl")


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m pipeline.smoke", description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="endpoint to check instead of the deployed one (no promotion, no rollback)")
    parser.add_argument("--no-rollback", action="store_true", help="report a failure without rolling back")
    add_options(parser, settings)
    args = parser.parse_args(argv)

    if args.url:
        checks = smoke_test(settings, args.url.rstrip("/"), {}, args)
        return 0 if all(c.passed for c in checks) else 1
    record = read_artifact(settings.artifacts_dir / "deploy.json", "deploy")
    checks = smoke_test(settings, record["endpoint_url"], expected_of(record), args)
    version = record["release"]["model_version"]
    if all(c.passed for c in checks):
        champion = promote(settings, record)
        log(STAGE, f"PASSED: release {version} is the champion (previous: {champion['previous']})")
        return 0
    failed = [c.name for c in checks if not c.passed]
    log(STAGE, f"FAILED: release {version} failed {', '.join(failed)}")
    if args.no_rollback:
        return 1
    outcome = rollback.roll_back(settings, None, record, args)
    log(STAGE, f"release {version} failed smoke; rollback: {outcome}")
    return 1


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
