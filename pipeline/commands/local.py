"""`python -m pipeline.local <service> up|down|status`: the local environment's servers by hand.

    aws             the AWS emulator (moto_server): S3, ECR, EC2... in memory; `env` prints the
                    export lines a shell, the AWS CLI or boto3 need
    image-registry  Debian's docker-registry: images under $ARTIFACTS_DIR/image-registry/data, the same
                    port across restarts (dev/qa/prod push to ECR instead)
    prometheus      Debian's prometheus with the service's rules, scraping the release in
                    deploy.json and any --target; `targets` re-points it without a restart

Each runs on 127.0.0.1 (the port from LOCAL_<SERVICE>_PORT, or any free one) and is recorded under
$ARTIFACTS_DIR; `down` stops only a server that `up` started. A local deploy starts what it needs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.environments import emulator, image_registry, prometheus
from pipeline.environments.local_service import LocalService
from pipeline.errors import StageError, run
from pipeline.records import Deployment, RecordError
from pipeline.settings import PipelineSettings, get_settings

STAGE = "local"


@dataclass(frozen=True)
class Service:
    kind: LocalService
    state_dir: Callable[[PipelineSettings], Path]
    port: Callable[[PipelineSettings], int]
    extra: tuple[str, ...] = ()  # commands besides up, down and status


SERVICES = {
    "aws": Service(emulator.EMULATOR, lambda s: s.local_aws_dir, lambda s: s.local_aws_port, ("env",)),
    "image-registry": Service(
        image_registry.IMAGE_REGISTRY, lambda s: s.local_image_registry_dir, lambda s: s.local_image_registry_port
    ),
    "prometheus": Service(
        prometheus.PROMETHEUS, lambda s: s.local_prometheus_dir, lambda s: s.local_prometheus_port, ("targets",)
    ),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.local",
        description=__doc__.split("\n")[0],
        epilog=__doc__.split("\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    services = parser.add_subparsers(dest="service", required=True)
    for name, service in SERVICES.items():
        sub = services.add_parser(name, help=f"the {service.kind.title}")
        sub.add_argument("command", choices=["up", "down", "status", *service.extra])
        if name == "prometheus":
            sub.add_argument("--target", action="append", default=[], help="also scrape this release base URL")
            sub.add_argument("--scrape-interval", type=float, default=15.0, metavar="SECONDS")
    return parser


def deployed_targets(settings: PipelineSettings) -> list[str]:
    """The release in deploy.json (its own URL: /metrics is denied at the stable endpoint), if any."""
    try:
        record = Deployment.read(settings.artifacts_dir)
    except RecordError:
        return []
    return [record.release_url] if record.release_url else []


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    service = SERVICES[args.service]
    kind, state_dir = service.kind, service.state_dir(settings)
    targets = [*deployed_targets(settings), *args.target] if args.service == "prometheus" else []
    if args.command == "up":
        if args.service == "prometheus":
            server = prometheus.PROMETHEUS.up(state_dir, service.port(settings), targets, args.scrape_interval)
        else:
            server = kind.up(state_dir, service.port(settings))
        print(f"{kind.title} running at {kind.url(server)} (pid {server.pid}, log {server.log})")
        return 0
    if args.command == "down":
        stopped = kind.down(state_dir)
        print(f"stopped the {kind.title}" if stopped else f"no {kind.title} was started here; nothing to stop")
        return 0
    server = kind.status(state_dir)
    if server is None:
        start = f"python -m pipeline.local {args.service} up"
        print(f"{kind.title}: not running (start it with `{start}`)", file=sys.stderr)
        return 1
    if args.command == "env":
        exports = emulator.environment(settings.aws_default_region, kind.url(server))
        print("\n".join(f"export {k}={v}" for k, v in exports.items()))
        return 0
    if args.command == "targets":
        if not targets:
            raise StageError("no targets: deploy.json has no release_url and no --target was given", exit_code=2)
        prometheus.set_targets(state_dir, targets)
    scraping = f", scraping {targets}" if args.service == "prometheus" else ""
    print(f"{kind.title}: running at {kind.url(server)} (pid {server.pid}){scraping}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
