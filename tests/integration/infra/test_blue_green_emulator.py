"""One-server mode's blue/green in AWS (pipeline.environments.aws_blue_green), against a real moto_server and
real Terraform, on one stack, in order, through the AWS environment's own deploy/serve/restore path:

1. The first release goes live in slot blue; the Elastic IP is associated with its instance.
2. A second release boots in slot green beside it, is checked on its own address, then one apply moves the
   Elastic IP to green and stops blue (parked). Read back through EC2: describe_addresses, describe_instances.
3. A rollback (restore_previous) moves the Elastic IP back to blue in one apply; green is stopped.
4. A new release that fails its check on its own address is removed; the Elastic IP never moves.

The emulator's instances never boot, so nothing answers on their addresses: the environment's
`instance_address` (EC2's public IP of the instance, in AWS) is pointed at a local stand-in server that
answers /ready as the release would (or not). What is exercised: Terraform's slots, the order of the
switch (live instance running, then the address moves, then the old one stops), the pipeline's reading
of the slots and its refusal to switch to a release that does not answer. Not exercised: a real boot,
the real service on the instance, the sub-second gap while AWS moves the address.
"""

import json
import shutil
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import boto3
import pytest

from pipeline.environments import emulator as localaws
from pipeline.environments.aws import AwsEnvironment
from pipeline.errors import StageError
from pipeline.records import Deployment, ProvisionedStack, Release
from pipeline.release import deployment
from pipeline.settings import PipelineSettings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("terraform") is None, reason="NOT TESTED: terraform is not installed (>= 1.5)"),
]
REGION = "eu-west-1"
ACCOUNT = "123456789012"
A, B, C = "aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"


class StandIn(BaseHTTPRequestHandler):
    """Answers /ready for 'the instance' as a release of `answer` would; None: 503, not ready."""

    answer: ClassVar[dict] = {"model_version": None}

    def do_GET(self):
        version = self.answer["model_version"]
        status, body = (200, {"ready": True, "model_version": version}) if version else (503, {"ready": False})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def monkeypatch_module():
    patcher = pytest.MonkeyPatch()
    yield patcher
    patcher.undo()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, monkeypatch_module):
    root = tmp_path_factory.mktemp("blue-green")
    emulator = localaws.up(root / "localaws")
    for key, value in localaws.environment(REGION, localaws.endpoint_of(emulator)).items():
        monkeypatch_module.setenv(key, value)
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # `local` picks infra/service/env/local.tfvars (the emulator's switches); the logic is the AWS environment's.
    settings = PipelineSettings(
        project_name=f"bg-{uuid.uuid4().hex[:8]}", project_env="local", artifacts_dir=root / "artifacts",
        _env_file=None,
    )  # fmt: skip
    environment = AwsEnvironment(settings)
    environment.tls_only_buckets = False  # the emulator speaks plain HTTP, and enforces bucket policies
    environment.smoke_deadline_s = 3.0  # the stand-in answers at once; a refusal need not wait 15 minutes
    asked: list[str] = []

    def stand_in(instance_id: str, port: int) -> str:
        asked.append(instance_id)
        return f"http://127.0.0.1:{server.server_port}"

    environment.instance_address = stand_in
    provisioned = ProvisionedStack(
        model_bucket_name="models", model_bucket_arn="arn:aws:s3:::models",
        model_bucket_kms_key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000",
        repository_url=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app",
        repository_arn=f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/app", changed=True,
    )  # fmt: skip
    provisioned.write(settings.artifacts_dir)
    said: list[str] = []
    state = {"environment": environment, "provisioned": provisioned, "asked": asked, "said": said,
             "ec2": boto3.client("ec2", region_name=REGION)}  # fmt: skip
    yield state
    try:
        tf = deployment.service_stack(environment, said.append)
        tf.destroy(deployment.variables(environment, release(A)))
    finally:
        server.shutdown()
        localaws.down(root / "localaws")


def release(version: str) -> Release:
    return Release(
        image=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app:{version}-{version}", image_built=True,
        model_version=version, git_sha="0" * 40, environment="local", model_bucket="models",
        shared={"model_bucket_arn": "arn:aws:s3:::models",
                "model_bucket_kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000",
                "repository_arn": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/app"},
    )  # fmt: skip


def deploy(state, version: str) -> Deployment:
    return deployment.deploy(state["environment"], release(version), state["said"].append)


def slots(state) -> dict:
    return state["environment"].service_stack.outputs()["slots"]


def address_holder(state) -> str | None:
    """The instance the Elastic IP is associated with, as EC2 says."""
    (address,) = state["ec2"].describe_addresses()["Addresses"]
    return address.get("InstanceId")


def instance_states(state) -> dict[str, str]:
    reservations = state["ec2"].describe_instances()["Reservations"]
    return {i["InstanceId"]: i["State"]["Name"] for r in reservations for i in r["Instances"]}


def test_the_first_release_goes_live_in_slot_blue_behind_the_elastic_ip(stack):
    record = deploy(stack, A)
    now = slots(stack)
    assert set(now) == {"blue"} and now["blue"]["live"] and now["blue"]["model_version"] == A
    assert address_holder(stack) == now["blue"]["instance_id"]
    assert record.endpoint_url.startswith("http://") and record.endpoint_url.endswith(":8000")
    assert stack["asked"] == [], "nothing served before: nothing to check beside it"
    assert stack["environment"].parked_release() is None
    stack["endpoint"] = record.endpoint_url


def test_a_new_release_is_checked_on_its_own_address_then_the_endpoint_moves_to_it(stack):
    StandIn.answer["model_version"] = B
    record = deploy(stack, B)
    now = slots(stack)
    assert now["green"]["live"] and now["green"]["model_version"] == B
    assert stack["asked"] == [now["green"]["instance_id"]], "the new instance was checked on its own address"
    assert address_holder(stack) == now["green"]["instance_id"]
    states = instance_states(stack)
    assert states[now["green"]["instance_id"]] == "running"
    assert states[now["blue"]["instance_id"]] == "stopped", "the previous release is parked, stopped"
    assert record.endpoint_url == stack["endpoint"], "the endpoint stays the same address"
    assert record.releases["champion"] == {"model_version": A, "parked": True, "slot": "blue"}
    parked = stack["environment"].parked_release()
    assert (parked["model_version"], parked["image"]) == (A, release(A).image)


def test_a_rollback_moves_the_endpoint_back_in_one_apply(stack):
    before = slots(stack)
    service = stack["environment"].service_stack
    applies = []
    apply = service.apply
    service.apply = lambda variables: applies.append(variables) or apply(variables)
    started = time.monotonic()
    try:
        serving = stack["environment"].restore_previous()
    finally:
        del service.apply
    took = time.monotonic() - started
    print(f"rollback to the parked release against the emulator: {took:.1f}s (one apply)")
    now = slots(stack)
    assert now["blue"]["live"] and now["blue"]["model_version"] == A
    assert now["blue"]["instance_id"] == before["blue"]["instance_id"], "the parked instance itself, not a new one"
    assert address_holder(stack) == now["blue"]["instance_id"]
    assert instance_states(stack)[now["green"]["instance_id"]] == "stopped"
    assert serving.endpoint_url == stack["endpoint"]
    assert [a["live_slot"] for a in applies] == ["blue"], "the rollback is exactly one apply"


def test_a_new_release_that_fails_on_its_own_address_never_gets_the_endpoint(stack):
    live = slots(stack)["blue"]["instance_id"]
    StandIn.answer["model_version"] = A  # the instance answers, but with another model than the one deployed
    with pytest.raises(StageError, match=rf"failed its check: /ready names model '{A}', not {C}.*stays on {A}"):
        deploy(stack, C)
    assert address_holder(stack) == live
    assert set(slots(stack)) == {"blue"}, "the failed release's instance was removed"
    assert stack["environment"].parked_release() is None
