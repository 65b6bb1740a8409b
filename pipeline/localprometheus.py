"""`python -m pipeline.localprometheus up|down|status|targets`: the local Prometheus that scrapes the local releases.

`up` starts Debian's prometheus on 127.0.0.1 (LOCAL_PROMETHEUS_PORT, or any free port) with the
service's rules (infra/monitoring/prometheus/rules.yml), recorded in $ARTIFACTS_DIR/prometheus/;
its scrape targets are the release in deploy.json (release_url) and any --target. A local deploy
re-points a running Prometheus at the release it starts (Prometheus rereads its targets; no
restart); `targets` does the same by hand. `down` stops
only a Prometheus that `up` started. `python -m pipeline.monitor --prometheus local` reads it.
"""

from __future__ import annotations

import argparse
import sys

from pipeline.cli import StageError, run
from pipeline.environments import prometheus
from pipeline.records import Deployment, RecordError
from pipeline.settings import PipelineSettings, get_settings

STAGE = "localprometheus"


def deployed_targets(settings: PipelineSettings) -> list[str]:
    """The release in deploy.json (its own URL: /metrics is denied at the stable endpoint), if any."""
    try:
        record = Deployment.read(settings.artifacts_dir)
    except RecordError:
        return []
    return [record.release_url] if record.release_url else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.localprometheus", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["up", "down", "status", "targets"])
    parser.add_argument("--target", action="append", default=[], help="also scrape this release base URL")
    parser.add_argument("--scrape-interval", type=float, default=15.0, metavar="SECONDS")
    args = parser.parse_args(argv)
    settings = get_settings()
    state_dir = settings.local_prometheus_dir
    targets = [*deployed_targets(settings), *args.target]
    if args.command == "up":
        server = prometheus.up(state_dir, targets, settings.local_prometheus_port, args.scrape_interval)
        print(f"local Prometheus at {prometheus.endpoint_of(server)} scraping {targets or 'nothing yet'} "
              f"(pid {server.pid}, log {server.log})")  # fmt: skip
        return 0
    if args.command == "down":
        stopped = prometheus.down(state_dir)
        print("stopped the local Prometheus" if stopped else "no Prometheus was started here; nothing to stop")
        return 0
    server = prometheus.status(state_dir)
    if server is None:
        print("local Prometheus: not running (start it with `python -m pipeline.localprometheus up`)", file=sys.stderr)
        return 1
    if args.command == "targets":
        if not targets:
            raise StageError("no targets: deploy.json has no release_url and no --target was given", exit_code=2)
        prometheus.set_targets(state_dir, targets)
    print(f"local Prometheus: running at {prometheus.endpoint_of(server)} (pid {server.pid}), scraping {targets}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
