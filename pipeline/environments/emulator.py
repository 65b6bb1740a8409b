"""The local AWS emulator (moto_server) on 127.0.0.1, for the `local` environment.

`up` starts moto_server (on LOCAL_AWS_PORT, or any free port), waits until it answers
and records it in <state_dir>/state.json; `down` stops only the server `up` started.
The emulator keeps everything in memory: stopping it forgets all buckets.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from pipeline.cli import StageError
from pipeline.environments import processes

HOST = processes.LOOPBACK
READY_TIMEOUT_S = 30
# Dummy credentials: the emulator accepts anything, and real ones must never reach it.
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# Credential sources botocore would otherwise still consult (and send to the emulator): a shell's
# session token, a profile, a role to assume, a container or web-identity credential endpoint.
FOREIGN_CREDENTIALS = (
    "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CREDENTIAL_EXPIRATION",
)  # fmt: skip


def endpoint_of(recorded: processes.Recorded) -> str:
    return f"http://{HOST}:{recorded.port}"


def answers(endpoint: str) -> bool:
    return processes.http_ok(f"{endpoint}/moto-api/")


def _state(state_dir: Path) -> processes.StateFile:
    return processes.StateFile(state_dir / "state.json")


def status(state_dir: Path) -> processes.Recorded | None:
    """The emulator recorded in state_dir, if it is still running and answering."""
    return _state(state_dir).running(lambda r: answers(endpoint_of(r)))


def up(state_dir: Path, port: int = 0) -> processes.Recorded:
    if (running := status(state_dir)) is not None:
        return running
    server = shutil.which("moto_server", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if server is None:
        raise StageError("moto_server not found: install the emulator with pip install 'moto[server]'", exit_code=2)
    port = port or processes.free_port()
    endpoint = f"http://{HOST}:{port}"
    log_path = state_dir / "moto.log"
    try:
        return _state(state_dir).start(
            [server, "-H", HOST, "-p", str(port)], port, log_path, lambda: answers(endpoint), READY_TIMEOUT_S
        )
    except processes.NotReady:
        raise StageError(f"the AWS emulator did not start on port {port}; see {log_path}", exit_code=2) from None


def down(state_dir: Path) -> bool:
    """Stop the emulator that `up` started here; never anything else."""
    state = _state(state_dir)
    recorded = state.read()
    if recorded is None:
        return False
    recorded.stop(grace_s=5)
    state.clear()
    return True


def environment(region: str, endpoint: str) -> dict[str, str]:
    """What a process needs to talk to the emulator (and only to it)."""
    return {"AWS_ENDPOINT_URL": endpoint, **DUMMY_CREDENTIALS, "AWS_DEFAULT_REGION": region}


def point_this_process_at(region: str, endpoint: str, *, bound: bool = False) -> None:
    """Aim this process and its children at the emulator, with no real credential left to leak to it.

    bound: keep the key pair the caller bound (the AWS-like mode, local_aws_credentials=bound), and stop with
    one line when there is none, as a stage without its credential stops in AWS."""
    keys = {name: os.environ.get(name) for name in DUMMY_CREDENTIALS}
    if bound and not all(keys.values()):
        raise StageError(
            "no AWS credentials bound for this stage (LOCAL_AWS_CREDENTIALS=bound wants AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, as Jenkins' withCredentials gives them)",
            exit_code=2,
        )
    for name in FOREIGN_CREDENTIALS:
        os.environ.pop(name, None)
    os.environ.update(environment(region, endpoint) | (keys if bound else {}))
