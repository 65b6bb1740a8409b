"""provision and deploy applied for real against a moto_server, through their command lines.

Both stacks: init, plan, apply, a second plan with no changes, outputs, destroy.
Takes about two minutes (the provider waits ~1 min on the emulator's bucket lifecycle).
"""

import json
import os
import shutil
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest

from pipeline import localaws

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("terraform") is None, reason="NOT TESTED: terraform is not installed (>= 1.5)"),
]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    state = tmp_path_factory.mktemp("localaws")
    yield localaws.up(state)
    localaws.down(state)


@pytest.fixture(scope="module")
def workspace(emulator, blessed, tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    artifacts = root / "artifacts"
    shutil.copytree(blessed[0], artifacts / "candidate")
    shutil.copytree(blessed[1], artifacts / "reports")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "PROJECT_", "AWS_"))}
    env |= {
        "PROJECT_NAME": f"it-{uuid.uuid4().hex[:8]}",
        "PROJECT_ENV": "local",
        "ARTIFACTS_DIR": str(artifacts),
        **localaws.environment("eu-west-1", emulator.endpoint),
        "GUNICORN_WORKERS": "1",
    }
    yield root, env
    stage(["pipeline.deploy", "--stop-local"], env, root)


def stage(args, env, cwd):
    return subprocess.run([sys.executable, "-m", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=600)


def read(env, name):
    return json.loads((Path(env["ARTIFACTS_DIR"]) / name).read_text())


def test_provision_publish_deploy_replan_destroy(workspace):
    root, env = workspace
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1")
    s3 = session.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
    ecr = session.client("ecr", endpoint_url=env["AWS_ENDPOINT_URL"])

    first = stage(["pipeline.provision"], env, root)
    assert first.returncode == 0, first.stderr
    shared = read(env, "provision.json")
    assert shared["changed"] is True
    bucket = shared["model_bucket_name"]
    assert bucket == f"{env['PROJECT_NAME']}-local-models"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    repo = ecr.describe_repositories(repositoryNames=[f"{env['PROJECT_NAME']}-local"])["repositories"][0]
    assert repo["imageTagMutability"] == "IMMUTABLE" and repo["imageScanningConfiguration"]["scanOnPush"]

    again = stage(["pipeline.provision"], env, root)
    assert (
        again.returncode == 0
        and "nothing to change" in again.stdout
        and read(env, "provision.json")["changed"] is False
    )

    assert stage(["pipeline.publish"], env, root).returncode == 0
    version = read(env, "publish.json")["version"]

    deployed = stage(["pipeline.deploy"], env, root)
    assert deployed.returncode == 0, deployed.stderr
    record = read(env, "deploy.json")
    assert record["release"]["model_version"] == version and record["instance_id"].startswith("i-")
    with urllib.request.urlopen(f"{record['endpoint_url']}/version", timeout=5) as resp:
        assert json.loads(resp.read())["model_version"] == version

    replan = stage(["pipeline.deploy", "--plan-only"], env, root)
    assert replan.returncode == 0 and "no infrastructure changes" in replan.stdout

    assert stage(["pipeline.deploy", "--destroy"], env, root).returncode == 0
    destroyed = stage(["pipeline.provision", "--destroy"], env, root)
    assert destroyed.returncode == 0, destroyed.stderr
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_a_failing_terraform_run_is_one_summarised_line(workspace):
    root, env = workspace
    broken = {**env, "AWS_DEFAULT_REGION": "eu-west-1", "PROJECT_NAME": "Not_A_Valid-Name"}
    out = stage(["pipeline.provision"], broken, root)
    assert out.returncode != 0
    assert out.stderr.strip().count("\n") == 0, out.stderr
