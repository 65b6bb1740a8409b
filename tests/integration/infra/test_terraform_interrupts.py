"""A Terraform state lock is never left behind by an interrupted stage, and a held one is explained.

Against a real moto_server and the real terraform CLI, through `python -m pipeline.provision`.
"""

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest

from pipeline.environments import emulator

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("terraform") is None, reason="NOT TESTED: terraform is not installed (>= 1.5)"),
]
REPO = Path(__file__).resolve().parents[3]
LOCK_KEY = "shared/terraform.tfstate.tflock"


@pytest.fixture
def workspace(tmp_path):
    server = emulator.up(tmp_path / "localaws")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "PROJECT_", "AWS_"))}
    env |= {
        "PROJECT_NAME": f"lock-{uuid.uuid4().hex[:8]}",
        "PROJECT_ENV": "local",
        "ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        **emulator.environment("eu-west-1", emulator.endpoint_of(server)),
    }
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1")
    s3 = session.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
    yield env, s3, f"{env['PROJECT_NAME']}-local-tfstate"
    emulator.down(tmp_path / "localaws")


def provision(env, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.provision"], env=env, cwd=REPO, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs,
    )  # fmt: skip


def terraform_processes(artifacts: str) -> list[int]:
    """Terraform processes working for this workspace (their TF_DATA_DIR lies under its artifacts)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if Path((proc / "cmdline").read_bytes().split(b"\0")[0].decode()).name != "terraform":
                continue
            if artifacts.encode() in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def lock_exists(s3, bucket):
    return s3.list_objects_v2(Bucket=bucket, Prefix=LOCK_KEY).get("KeyCount", 0) > 0


def test_a_held_lock_is_named_with_the_command_that_releases_it(workspace):
    env, s3, bucket = workspace
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    lock_id = str(uuid.uuid4())
    info = {"ID": lock_id, "Operation": "OperationTypeApply", "Who": "someone@elsewhere", "Version": "1.11.4",
            "Created": "2026-11-29T00:00:00Z", "Path": f"{bucket}/shared/terraform.tfstate", "Info": ""}  # fmt: skip
    s3.put_object(Bucket=bucket, Key=LOCK_KEY, Body=json.dumps(info).encode())
    run = provision(env)
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 1
    line = stderr.strip()
    assert line.count("\n") == 0, stderr
    assert f"lock id {lock_id}" in line and "force-unlock" in line
    command = line.split("release it with: ", 1)[1]
    assignment, *argv = command.split()
    name, _, value = assignment.partition("=")
    unlocked = subprocess.run([*argv[:-1], "-force", argv[-1]], env={**env, name: value}, capture_output=True)
    assert unlocked.returncode == 0, unlocked.stdout + unlocked.stderr
    assert not lock_exists(s3, bucket)


def test_ctrl_c_during_apply_leaves_no_lock_behind(workspace):
    env, s3, bucket = workspace
    # Its own process group, as a terminal's foreground job, and SIGINT inherited ignored, as a job that a
    # non-interactive shell starts in the background (CI): the stage must take the signal back itself.
    run = provision(env, start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    started = time.monotonic()
    for line in run.stdout:
        if ": Still creating" in line:  # terraform is mid-way through a slow resource, holding the lock
            break
        assert time.monotonic() - started < 240, "the apply never started"
    assert lock_exists(s3, bucket), "the lock should be held while terraform applies"
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C does: every process in the group gets it
    run.communicate(timeout=300)
    still_running = terraform_processes(env["ARTIFACTS_DIR"])
    assert run.returncode == 130
    assert not still_running, "the stage returned while its terraform was still shutting down"
    assert not lock_exists(s3, bucket), "the stage returned while terraform still held the state lock"


def test_two_runs_on_one_environment_at_once_serialize_or_the_second_stops_in_one_line(workspace):
    """Two builds deploying the same environment (a rerun, another branch): Terraform's state lock decides."""
    env, s3, bucket = workspace
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    runs = [provision(env), provision(env)]
    outcomes = [(*run.communicate(timeout=600), run.returncode) for run in runs]
    codes = sorted(code for _, _, code in outcomes)
    assert codes[0] == 0, outcomes  # one of them applied
    for _, stderr, code in outcomes:
        if code:  # the other met the lock: one line, naming it and how to release it if it is stale
            assert code == 1 and stderr.strip().count("\n") == 0, stderr
            assert "locked by another run" in stderr and "force-unlock" in stderr
    assert not lock_exists(s3, bucket)


def test_a_second_run_in_the_same_checkout_waits_for_the_first_to_leave_its_data_directory(workspace):
    """The race the test above can lose: one run's `init -reconfigure` rewriting the backend cache another reads."""
    env, _, _ = workspace
    lock_path = Path(env["ARTIFACTS_DIR"]) / "terraform" / "local" / "shared" / "run.lock"
    lock_path.parent.mkdir(parents=True)
    with lock_path.open("a") as held:  # the first run, mid-way
        fcntl.lockf(held, fcntl.LOCK_EX)
        run = provision(env)
        for line in run.stdout:
            if "another run in this checkout" in line:
                break
        else:
            pytest.fail(f"the second run never said it waits: {run.communicate()}")
        time.sleep(1)
        assert run.poll() is None and not terraform_processes(env["ARTIFACTS_DIR"]), "it ran terraform anyway"
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 0, stderr
