"""`python -m pipeline.localaws up|down|status|env`: the local AWS emulator by hand.

`up` starts moto_server on 127.0.0.1 (LOCAL_AWS_PORT, or any free port) and records it in
$ARTIFACTS_DIR/localaws/; `down` stops only a server that `up` started; `env` prints the
export lines a shell, the AWS CLI or boto3 need. The emulator keeps everything in memory:
stopping it forgets all buckets.
"""

from __future__ import annotations

import argparse
import sys

from pipeline.cli import run
from pipeline.environments import emulator
from pipeline.settings import get_settings

STAGE = "localaws"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.localaws", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    args = parser.parse_args(argv)
    settings = get_settings()
    state_dir = settings.local_aws_dir
    if args.command == "up":
        server = emulator.up(state_dir, settings.local_aws_port)
        print(f"local AWS emulator running at {emulator.endpoint_of(server)} (pid {server.pid}, log {server.log})")
        return 0
    if args.command == "down":
        stopped = emulator.down(state_dir)
        print("stopped the local AWS emulator" if stopped else "no emulator was started here; nothing to stop")
        return 0
    server = emulator.status(state_dir)
    if server is None:
        print("local AWS emulator: not running (start it with `python -m pipeline.localaws up`)", file=sys.stderr)
        return 1
    endpoint = emulator.endpoint_of(server)
    if args.command == "status":
        print(f"local AWS emulator: running at {endpoint} (pid {server.pid})")
    else:
        print(
            "\n".join(f"export {k}={v}" for k, v in emulator.environment(settings.aws_default_region, endpoint).items())
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
