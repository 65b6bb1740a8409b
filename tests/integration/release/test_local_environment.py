"""Security-review fixes in the pipeline's own commands: each test failed on the code before the fix."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from pipeline.environments import emulator, local_release, processes
from pipeline.environments.local import LocalEnvironment
from pipeline.settings import PipelineSettings

REPO = Path(__file__).resolve().parents[3]
AWS_VARIABLES = (*emulator.FOREIGN_CREDENTIALS, "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


@pytest.fixture
def aws_environment_restored(monkeypatch):
    """Connecting rewrites this process's AWS variables: monkeypatch puts the originals back afterwards."""
    for name in (*AWS_VARIABLES, "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_train_refuses_to_replace_a_directory_that_is_not_an_artifact(tmp_path, clean_env):
    out_dir = tmp_path / "my-notes"
    out_dir.mkdir()
    (out_dir / "thesis.txt").write_text("months of work")
    env = {**clean_env, "ARTIFACTS_DIR": str(tmp_path / "artifacts")}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.train", "--out", str(out_dir)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "holds no model artifact" in done.stderr
    assert (out_dir / "thesis.txt").read_text() == "months of work"


@pytest.fixture
def bystander():
    """An unrelated process in its own session, whose pid a planted state file will name."""
    proc = subprocess.Popen(["sleep", "120"], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


@pytest.mark.parametrize("started", [0, None])
def test_a_planted_state_file_never_gets_an_unrelated_process_killed(tmp_path, bystander, started):
    planted = {"pid": bystander.pid, "port": 1, "log": "x"}
    if started is not None:
        planted |= {"started": started, "details": {"url": "http://127.0.0.1:1", "container": None, "engine": None}}
    (tmp_path / "state.json").write_text(json.dumps(planted))
    (tmp_path / "current.json").write_text(json.dumps(planted))
    emulator.down(tmp_path)
    local_release.stop(tmp_path)
    time.sleep(0.3)
    assert bystander.poll() is None, "the bystander was signalled"


def test_a_recorded_process_is_recognised_by_pid_and_start_time(tmp_path, bystander):
    recorded = processes.Recorded(bystander.pid, processes.start_time(bystander.pid), 1, "log")
    assert recorded.is_ours
    assert not processes.Recorded(bystander.pid, recorded.started - 1, 1, "log").is_ours
    recorded.stop(grace_s=5)
    assert bystander.wait(5) == -signal.SIGTERM


def test_local_drops_the_shells_real_credentials_before_talking_to_the_emulator(tmp_path, aws_environment_restored):
    monkeypatch = aws_environment_restored
    server = emulator.up(tmp_path / "localaws")
    try:
        monkeypatch.setenv("AWS_SESSION_TOKEN", "a-real-session-token")
        monkeypatch.setenv("AWS_PROFILE", "production-admin")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
        monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_of(server))
        settings = PipelineSettings(project_env="local", artifacts_dir=tmp_path, _env_file=None)
        LocalEnvironment(settings).connect()
        assert "AWS_SESSION_TOKEN" not in os.environ and "AWS_PROFILE" not in os.environ
        sent = []
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.meta.events.register("before-send", lambda request, **_: sent.append(dict(request.headers)))
        s3.list_buckets()
        assert sent and "X-Amz-Security-Token" not in sent[0]
        assert "AKIAREALKEY" not in sent[0]["Authorization"].decode()
    finally:
        emulator.down(tmp_path / "localaws")


def test_the_state_bucket_refuses_plain_http_where_the_environment_speaks_tls(tmp_path, aws_environment_restored):
    from botocore.exceptions import ClientError

    from pipeline.release import stacks

    server = emulator.up(tmp_path / "localaws")
    try:
        emulator.point_this_process_at("eu-west-1", emulator.endpoint_of(server))
        settings = PipelineSettings(project_name="tls-check", artifacts_dir=tmp_path, _env_file=None)
        bucket = stacks.ensure_state_bucket(settings, tls_only=True)
        s3 = boto3.client("s3", region_name="eu-west-1")
        statement = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"][0]
        assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        with pytest.raises(ClientError, match="Forbidden"):  # the emulator enforces it: its endpoint is plain HTTP
            s3.put_object(Bucket=bucket, Key="state", Body=b"{}")
    finally:
        emulator.down(tmp_path / "localaws")
