"""The local AWS emulator (moto_server) for PROJECT_ENV=local.

`python -m pipeline.localaws up|down|status|env`. `up` starts moto_server on
127.0.0.1 (LOCAL_AWS_PORT, or any free port), waits until it answers and records
pid, port and log in artifacts/localaws/. `down` stops only a server that `up`
started. `env` prints the export lines a shell, the AWS CLI or boto3 need.
The emulator keeps everything in memory: stopping it forgets all buckets.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline import processes
from pipeline.cli import StageError, run
from sentiment.settings import get_settings

STAGE = "localaws"
HOST = processes.LOOPBACK
READY_TIMEOUT_S = 30
# Dummy credentials: the emulator accepts anything, and real ones must never reach it.
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass(frozen=True)
class Emulator:
    pid: int
    port: int
    log: str

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"


def _state_file(state_dir: Path) -> Path:
    return state_dir / "state.json"


def answers(endpoint: str) -> bool:
    return processes.http_ok(f"{endpoint}/moto-api/")


def status(state_dir: Path) -> Emulator | None:
    """The emulator recorded in state_dir, if it is still running and answering."""
    try:
        emulator = Emulator(**json.loads(_state_file(state_dir).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return emulator if processes.alive(emulator.pid) and answers(emulator.endpoint) else None


def up(state_dir: Path, port: int = 0) -> Emulator:
    if (running := status(state_dir)) is not None:
        return running
    server = shutil.which("moto_server", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if server is None:
        raise StageError("moto_server not found: install the emulator with pip install 'moto[server]'", exit_code=2)
    port = port or processes.free_port()
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "moto.log"
    endpoint = f"http://{HOST}:{port}"
    try:
        proc = processes.start_until_ready(
            [server, "-H", HOST, "-p", str(port)], log_path, lambda: answers(endpoint), READY_TIMEOUT_S
        )
    except processes.NotReady:
        raise StageError(f"the AWS emulator did not start on port {port}; see {log_path}", exit_code=2) from None
    emulator = Emulator(pid=proc.pid, port=port, log=str(log_path))
    _state_file(state_dir).write_text(json.dumps(asdict(emulator)))
    return emulator


def down(state_dir: Path) -> bool:
    """Stop the emulator that `up` started here; never anything else."""
    try:
        emulator = Emulator(**json.loads(_state_file(state_dir).read_text()))
    except (OSError, ValueError, TypeError):
        return False
    processes.stop_group(emulator.pid, grace_s=5)
    _state_file(state_dir).unlink(missing_ok=True)
    return True


def environment(region: str, endpoint: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": endpoint, **DUMMY_CREDENTIALS, "AWS_DEFAULT_REGION": region}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.localaws", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    args = parser.parse_args(argv)
    settings = get_settings()
    state_dir = settings.local_aws_dir
    if args.command == "up":
        emulator = up(state_dir, settings.local_aws_port)
        print(f"local AWS emulator running at {emulator.endpoint} (pid {emulator.pid}, log {emulator.log})")
    elif args.command == "down":
        print("stopped the local AWS emulator" if down(state_dir) else "no emulator was started here; nothing to stop")
    else:
        emulator = status(state_dir)
        if emulator is None:
            print("local AWS emulator: not running (start it with `python -m pipeline.localaws up`)", file=sys.stderr)
            return 1
        if args.command == "status":
            print(f"local AWS emulator: running at {emulator.endpoint} (pid {emulator.pid})")
        else:
            print(
                "\n".join(
                    f"export {k}={v}" for k, v in environment(settings.aws_default_region, emulator.endpoint).items()
                )
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
