"""The local AWS emulator (moto_server) on 127.0.0.1, for the `local` environment.

A LocalService (`python -m pipeline.local aws up|down|status|env`); moto_server keeps
everything in memory: stopping it forgets all buckets.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipeline.environments.local_service import HOST, LocalService, program
from pipeline.errors import StageError

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


class Emulator(LocalService):
    title = "local AWS emulator"
    ready_path = "/moto-api/"
    log_name = "moto.log"

    def command(self, state_dir: Path, port: int) -> list[str]:
        # moto_server is installed beside this interpreter, which need not be on PATH.
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        server = program("moto_server", "install the emulator with pip install 'moto[server]'", path)
        return [server, "-H", HOST, "-p", str(port)]


EMULATOR = Emulator()
up, down, status, endpoint_of = EMULATOR.up, EMULATOR.down, EMULATOR.status, EMULATOR.url


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


def put_as_extracted(cloudwatch: Any, lines: Iterable[str]) -> None:
    """Put EMF lines (sentiment.emf) into CloudWatch as CloudWatch Logs extracts them in AWS: one datapoint per
    metric and dimension set, at the line's timestamp. The emulator has no log extraction of its own."""
    for line in lines:
        document = json.loads(line)
        when = document["_aws"]["Timestamp"] / 1000
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = [{"Name": name, "Value": document[name]} for name in dimension_set]
                data = [
                    {
                        "MetricName": metric["Name"],
                        "Dimensions": dimensions,
                        "Value": float(document[metric["Name"]]),
                        "Unit": metric["Unit"],
                        "Timestamp": when,
                    }
                    for metric in directive["Metrics"]
                ]
                cloudwatch.put_metric_data(Namespace=directive["Namespace"], MetricData=data)
