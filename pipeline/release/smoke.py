"""After a deploy: prove the live release as a client sees it (the smoke stage, and a rollback's check).

Probes the endpoint (health, version, canaries, latency), writes the report (JSON + JUnit) and prints
the table.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.environments import Environment
from pipeline.errors import StageError
from pipeline.ml.gate_config import GateConfigError, load_thresholds
from pipeline.records import Deployment, SmokeReport
from pipeline.release import probe
from pipeline.reports import CheckResult, print_checks, write_junit


@dataclass(frozen=True)
class SmokeOptions:
    deadline_s: float  # how long to wait for /health
    requests: int  # sequential requests for the latency measurement
    smoke_config: Path  # smoke.toml: smoke.p99_ms
    quality_gates: Path  # holds canaries.jsonl

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser, environment: Environment) -> None:
        """The command-line options of every command that smoke-tests (smoke, rollback)."""
        settings = environment.settings
        deadline = environment.smoke_deadline_s
        parser.add_argument("--deadline", type=float, default=deadline, help="seconds to wait for /health")
        parser.add_argument("--requests", type=int, default=200, help="requests for the latency measurement")
        parser.add_argument("--smoke-config", type=Path, default=settings.smoke_file, help="holds smoke.p99_ms")
        parser.add_argument("--quality-gates", type=Path, default=settings.quality_gates_dir, help="holds canaries")

    @classmethod
    def from_arguments(cls, args: argparse.Namespace) -> SmokeOptions:
        return cls(args.deadline, args.requests, args.smoke_config, args.quality_gates)


def smoke_test(
    environment: Environment,
    url: str,
    expected: dict[str, str],
    options: SmokeOptions,
    log: Callable[[str], None],
    report_name: str = "smoke",
) -> list[CheckResult]:
    """Probe the endpoint; write the report (JSON + JUnit) and print the table."""
    try:
        budget = load_thresholds(options.smoke_config)["smoke.p99_ms"].limit
    except (GateConfigError, KeyError) as exc:
        raise StageError(f"{options.smoke_config}: no usable smoke.p99_ms threshold ({exc})", exit_code=2) from exc
    started = time.monotonic()
    log(f"checking {url}")
    checks = probe.run_checks(url, expected, options.quality_gates, budget, options.requests, options.deadline_s, log)
    passed = all(c.passed for c in checks)
    reports = environment.settings.reports_dir
    SmokeReport(url=url, expected=expected, passed=passed, checks=[c.to_dict() for c in checks]).write_file(
        reports / f"{report_name}.json"
    )
    write_junit(reports / f"{report_name}.xml", report_name, checks, time.monotonic() - started)
    print_checks(report_name, checks)
    return checks


def expected_of(record: Deployment) -> dict[str, str]:
    return {"model_version": record.release.model_version, "image": record.release.image}
