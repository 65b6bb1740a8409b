"""`python -m pipeline.image_registry up|down|status`: the local image registry by hand.

Debian's `docker-registry` on 127.0.0.1, storing under $ARTIFACTS_DIR/registry/data so
images survive a restart, and keeping its port across restarts so recorded image
references stay valid. dev/qa/prod push to ECR instead.
"""

from __future__ import annotations

import argparse
import sys

from pipeline.cli import run
from pipeline.environments import local_registry
from pipeline.settings import get_settings

STAGE = "image_registry"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.image_registry", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    settings = get_settings()
    state_dir = settings.local_registry_dir
    if args.command == "up":
        registry = local_registry.up(state_dir, settings.local_registry_port)
        print(
            f"local registry running at {local_registry.address_of(registry)} (pid {registry.pid}, log {registry.log})"
        )
    elif args.command == "down":
        print("stopped the local registry" if local_registry.down(state_dir) else "no local registry is running here")
    elif (registry := local_registry.status(state_dir)) is None:
        print("local registry: not running (start it with `python -m pipeline.image_registry up`)", file=sys.stderr)
        return 1
    else:
        print(f"local registry: running at {local_registry.address_of(registry)} (pid {registry.pid})")
    return 0


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
