"""Command `monitor`: judge a release's live traffic against its model's reference profile, and its health.

Reads the live metrics of the environment's release (locally deploy.json's release_url, else its
endpoint; or --url; or --prometheus; in dev/qa/prod, or with --cloudwatch, the CloudWatch metrics
the service's EMF lines become, see pipeline.release.cloudwatch_window), the reference profile of
the model version it serves (profile.json: the candidate's when it is that version, else the
registry's copy, or --profile), and the limits in quality_gates/monitor.toml. Prints a table, one
`DRIFT <feature> ...` or `BREACH <metric> ...` line per failed check, and writes
reports/monitor.json (records.MonitorReport) + monitor.xml.
Exit 0 healthy, 1 drift or breach, 2 bad setup. A health check without data to judge (too little
traffic, a value that is no count) prints `INCONCLUSIVE <metric> ...` and is not healthy either (exit 1).

Windows. Counters at /metrics add up since the release started. `--mark` saves a snapshot
(<artifacts>/monitor/window-start.json) and exits; later runs judge only what arrived since it.
`--advance` judges, then makes now the next window's start (a scheduled job judges each interval).
Without a mark, or when the release restarted after it, everything since the release started is
judged. With --prometheus or CloudWatch, the window is the last --since DURATION (default 1h).
A CloudWatch window without the release's metrics is an error (exit 2), never a pass.
"""

from __future__ import annotations

import argparse
import json
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from pipeline import environments
from pipeline.environments import prometheus
from pipeline.errors import StageError, log, run
from pipeline.ml import drift
from pipeline.records import Candidate, Deployment, MonitorReport, write_json_atomic
from pipeline.release import cloudwatch_window, live_metrics
from pipeline.reports import CheckResult, format_table, write_junit
from pipeline.settings import PipelineSettings, get_settings
from sentiment import monitoring
from sentiment.model_registry import version_prefix

STAGE = "monitor"
WRITES = MonitorReport
REPO = Path(__file__).resolve().parents[1]
WINDOW_START = "monitor/window-start.json"


def _iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def load_config(path: Path) -> dict[str, Any]:
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
        int(config["window"]["min_texts"])
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise StageError(f"monitor config {path} is unusable ({exc})", exit_code=2) from None
    for section in ("drift", "health"):
        for name, rule in config.get(section, {}).items():
            if not isinstance(rule, dict) or "max" not in rule or not rule.get("reason"):
                raise StageError(f"{path}: [{section}.{name}] needs max and reason", exit_code=2)
    return config


def _check_profile(body: bytes | str, version: str, where: str) -> dict[str, Any]:
    """The profile in `body`, if it is a profile of `version` at the service's bucket edges (else exit 2)."""
    try:
        profile = json.loads(body)
        if profile.get("schema") != monitoring.PROFILE_SCHEMA or profile.get("model_version") != version:
            raise ValueError(f"not a schema-{monitoring.PROFILE_SCHEMA} profile of {version}")
        for name, edges in monitoring.FEATURE_EDGES.items():
            if tuple(float(e) for e in profile["features"][name]["edges"]) != tuple(float(e) for e in edges):
                raise ValueError(f"{name} edges differ from the service's (sentiment.monitoring)")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StageError(f"{where}: {exc}", exit_code=2) from None
    return profile


def reference_profile(version: str, explicit: Path | None, settings: PipelineSettings) -> tuple[dict[str, Any], str]:
    """(profile, where it came from) of `version`."""
    if explicit is not None:
        try:
            body = explicit.read_text(encoding="utf-8")
        except (OSError, ValueError) as exc:
            raise StageError(f"cannot read the profile {explicit}: {exc}", exit_code=2) from None
        return _check_profile(body, version, str(explicit)), str(explicit)
    candidate_dir = settings.artifacts_dir / "candidate"
    local = candidate_dir / monitoring.PROFILE_FILE
    if local.is_file():
        try:
            candidate = Candidate.read_dir(candidate_dir)
        except StageError:
            candidate = None
        if candidate is not None and candidate.version == version:
            return _check_profile(local.read_text(encoding="utf-8"), version, str(local)), str(local)
    environment = environments.current(settings)
    environment.connect()
    registry = environment.existing_model_registry()
    if registry is None:
        raise StageError(f"no profile of {version}: no candidate of that version and no registry", exit_code=2)
    body = registry.published_file(version, monitoring.PROFILE_FILE)
    if body is None:
        raise StageError(f"version {version} has no {monitoring.PROFILE_FILE} in the registry "
                         "(published before profiles existed: retrain and publish)", exit_code=2)  # fmt: skip
    where = f"s3://{registry.bucket}/{version_prefix(version)}{monitoring.PROFILE_FILE}"
    return _check_profile(body, version, where), where


def table(checks: list[CheckResult]) -> str:
    """The report table with each check's detail (live vs reference, PSI) after it."""
    rows = format_table(checks).splitlines()
    return "\n".join([rows[0] + "  detail", *(f"{row}  {c.detail}" for row, c in zip(rows[1:], checks, strict=True))])


def _release_url(settings: PipelineSettings) -> str:
    record = Deployment.read(settings.artifacts_dir)
    return record.release_url or record.endpoint_url


def _cloudwatch_window(settings: PipelineSettings, since: str, version: str | None) -> tuple[str, live_metrics.Window]:
    """(where, window) of the environment's release in CloudWatch (the emulator's, locally)."""
    environments.current(settings).connect()
    service = cloudwatch_window.service_dimension(settings)
    client = boto3.client("cloudwatch", region_name=settings.aws_default_region)
    try:
        window = cloudwatch_window.read(client, service, cloudwatch_window.duration_seconds(since), version)
    except cloudwatch_window.NoMetrics as exc:
        raise StageError(f"nothing to judge: {exc}", exit_code=2) from None
    except (BotoCoreError, ClientError, ValueError) as exc:
        raise StageError(f"cannot read CloudWatch: {exc}", exit_code=2) from None
    return f"cloudwatch:{service}", window


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.monitor",
        description=__doc__.split("\n")[0],
        epilog="Windows: --mark saves the counters now as the window start; later runs judge what came since. "
        "--advance moves the start to now after judging. Exit 0 healthy, 1 drift or breach, 2 bad setup.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--url", help="the release's own base URL (default: deploy.json's release_url)")
    source.add_argument(
        "--prometheus", metavar="URL", help="read the window from this Prometheus ('local': pipeline.local prometheus)"
    )
    source.add_argument(
        "--cloudwatch", action="store_true", help="read the window from CloudWatch (the default in dev/qa/prod)"
    )
    parser.add_argument("--since", default="1h", metavar="DURATION", type=live_metrics.promql_duration,
                        help="with --prometheus or CloudWatch: window, e.g. 30m, 1h, 1d (default 1h)")  # fmt: skip
    parser.add_argument(
        "--version", dest="model_version", help="with CloudWatch: the release's model version (default: the only one)"
    )
    parser.add_argument("--job", help="with --prometheus: the scrape job of the release (default: all)")
    parser.add_argument("--mark", action="store_true", help="save the window start now and exit (no judging)")
    parser.add_argument("--advance", action="store_true", help="after judging, start the next window now")
    parser.add_argument("--profile", type=Path, help="reference profile file (default: candidate, else registry)")
    parser.add_argument("--config", type=Path, default=REPO / "quality_gates" / "monitor.toml")
    args = parser.parse_args(argv)
    say = lambda message: log(STAGE, message)  # noqa: E731
    started = time.monotonic()
    config = load_config(args.config)
    mark_path = settings.artifacts_dir / WINDOW_START

    # Where the service writes EMF lines (dev/qa/prod by default), CloudWatch holds its metrics.
    if args.cloudwatch or (settings.emf_dimension is not None and not (args.url or args.prometheus)):
        if args.mark or args.advance:
            raise StageError("--mark and --advance window /metrics snapshots; with CloudWatch use --since", 2)
        where, window = _cloudwatch_window(settings, args.since, args.model_version)
        current, is_ready = None, None
    elif args.prometheus:
        if args.mark or args.advance:
            raise StageError("--mark and --advance window /metrics snapshots; with --prometheus use --since", 2)
        if args.prometheus == "local":
            local = prometheus.status(settings.local_prometheus_dir)
            if local is None:
                raise StageError("no local Prometheus: start it with `python -m pipeline.local prometheus up`", 2)
            args.prometheus = prometheus.endpoint_of(local)
        try:
            window = live_metrics.from_prometheus(args.prometheus, args.since, args.job)
        except (OSError, ValueError) as exc:
            raise StageError(f"cannot read Prometheus: {exc}", exit_code=2) from None
        where, current = args.prometheus, None
        is_ready = None
    else:
        where = (args.url or _release_url(settings)).rstrip("/")
        try:
            current = live_metrics.snapshot(where)
        except (OSError, ValueError) as exc:
            raise StageError(f"cannot read the release's metrics: {exc}", exit_code=2) from None
        if args.mark:
            write_json_atomic(mark_path, current.to_dict())
            say(f"window start saved ({mark_path}); the next run judges traffic from now on")
            return 0
        start = None
        if mark_path.is_file():
            try:
                start = live_metrics.Snapshot.from_dict(json.loads(mark_path.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise StageError(f"{mark_path} is unreadable ({exc}); delete it or run --mark", exit_code=2) from None
        window = live_metrics.since(current, start)
        is_ready = live_metrics.ready(where)

    served = live_metrics.versions(window.samples)
    if len(served) != 1:
        raise StageError(f"{where} serves {sorted(served) or 'no'} model version(s); expected exactly one", 2)
    version = served.pop()
    profile, profile_from = reference_profile(version, args.profile, settings)
    age = (
        drift.total(window.samples, "sentiment_model_age_seconds")
        if drift.select(window.samples, "sentiment_model_age_seconds")
        else None
    )
    try:
        checks = drift.drift_checks(window.samples, profile, config)
        checks += drift.health_checks(window.samples, age, config)
    except ValueError as exc:
        raise StageError(f"cannot compare with the profile: {exc}", exit_code=2) from None
    if is_ready is not None:
        checks.append(CheckResult("health.ready", is_ready, "yes" if is_ready else "no", "yes", f"{where}/ready"))

    texts = drift.total(window.samples, "sentiment_prediction_score_count")
    requests = drift.total(window.samples, "sentiment_requests_total")
    notes = [n for n in (window.note, f"reference profile: {profile_from}") if n]
    say(f"{where} serves {version}; window {_iso(window.start) or 'since start'} .. {_iso(window.end)}: "
        f"{texts:g} texts, {requests:g} requests")  # fmt: skip
    for note in notes:
        say(note)
    print(table(checks))
    drifted = [c for c in checks if c.name.startswith("drift.") and not c.passed]
    breached = [c for c in checks if c.name.startswith("health.") and not c.passed]
    for check in drifted:
        print(f"DRIFT {check.name.removeprefix('drift.')} {check.line().partition(' ')[2]}")
    for check in breached:
        word = "INCONCLUSIVE" if check.inconclusive else "BREACH"
        print(f"{word} {check.name.removeprefix('health.')} {check.line().partition(' ')[2]}")
    report = MonitorReport(
        source=where,
        model_version=version,
        window_start=_iso(window.start),
        window_end=_iso(window.end) or "",
        texts=texts,
        requests=requests,
        healthy=not drifted and not breached,
        drift=[c.name for c in drifted],
        breaches=[c.name for c in breached],
        checks=[
            {"name": c.name, "passed": c.passed, "value": c.value, "expected": c.expected, "detail": c.detail}
            for c in checks
        ],
        notes=notes,
    )
    report.write(settings.artifacts_dir)
    write_junit(settings.reports_dir / "monitor.xml", STAGE, checks, time.monotonic() - started)
    if args.advance and current is not None:
        write_json_atomic(mark_path, current.to_dict())
        say("the next window starts now (--advance)")
    return 0 if report.healthy else 1


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
