"""The service started by version from the bucket, and the registry command lines, as a user runs them."""

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline.environments import emulator as localaws
from pipeline.environments.processes import gunicorn_command
from pipeline.stages.publish import publishable_files
from sentiment import artifact
from sentiment.model_registry import version_prefix

pytestmark = pytest.mark.slow
QUALITY_GATES = Path(__file__).resolve().parents[3] / "quality_gates"


def start_service(env, port):
    cmd = gunicorn_command(f"127.0.0.1:{port}")
    return subprocess.Popen(cmd, env=env, cwd=env["HOME"], stderr=subprocess.PIPE, text=True)


def wait_json(url, server, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read()
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return json.loads(resp.read())
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer in {seconds} s")


def test_service_serves_a_published_version_and_refuses_a_changed_byte(
    registry, blessed, settings, clean_env, free_port, tmp_path
):
    files = publishable_files(*blessed, QUALITY_GATES / "thresholds.toml", QUALITY_GATES)
    manifest, _ = registry.publish(files.files, files.metadata, progress=lambda m: None)
    version = manifest["version"]
    env = {
        **clean_env,
        "AWS_ENDPOINT_URL": registry.s3.meta.endpoint_url,
        **localaws.DUMMY_CREDENTIALS,
        "AWS_DEFAULT_REGION": settings.aws_default_region,
        "MODEL_BUCKET_NAME": registry.bucket,
        "MODEL_VERSION": version,
        "MODEL_CACHE_DIR": str(tmp_path / "c1"),
        "GUNICORN_WORKERS": "1",
        "GUNICORN_ACCESSLOG": "",
    }
    server = start_service(env, free_port)
    try:
        assert wait_json(f"http://127.0.0.1:{free_port}/version", server)["model_version"] == version
    finally:
        server.terminate()
        server.wait(30)

    key = version_prefix(version) + artifact.MODEL_FILE
    body = bytearray(registry.s3.get_object(Bucket=registry.bucket, Key=key)["Body"].read())
    body[-1] ^= 0x01
    registry.s3.put_object(Bucket=registry.bucket, Key=key, Body=bytes(body))
    server = start_service({**env, "MODEL_CACHE_DIR": str(tmp_path / "c2")}, free_port)
    try:
        _, stderr = server.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        pytest.fail("the service started on a tampered model")
    lines = [ln for ln in stderr.splitlines() if ln.startswith("sentiment: cannot start")]
    assert server.returncode != 0 and lines and "does not match the registry manifest" in lines[0]


def run_cli(args, env, cwd):
    return subprocess.run([sys.executable, "-m", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_local_aws_cli_up_status_env_down(clean_env, tmp_path):
    env = {**clean_env, "ARTIFACTS_DIR": str(tmp_path / "artifacts")}
    env.pop("AWS_ENDPOINT_URL", None)
    assert run_cli(["pipeline.local", "aws", "status"], env, tmp_path).returncode == 1
    up = run_cli(["pipeline.local", "aws", "up"], env, tmp_path)
    assert up.returncode == 0 and "running at http://127.0.0.1:" in up.stdout
    try:
        exports = run_cli(["pipeline.local", "aws", "env"], env, tmp_path).stdout.splitlines()
        assert [line.split("=")[0] for line in exports] == [
            "export AWS_ENDPOINT_URL",
            "export AWS_ACCESS_KEY_ID",
            "export AWS_SECRET_ACCESS_KEY",
            "export AWS_DEFAULT_REGION",
        ]
        again = run_cli(["pipeline.local", "aws", "up"], env, tmp_path)
        assert again.stdout == up.stdout, "a second `up` reuses the running emulator"
    finally:
        assert "stopped" in run_cli(["pipeline.local", "aws", "down"], env, tmp_path).stdout
    assert "nothing to stop" in run_cli(["pipeline.local", "aws", "down"], env, tmp_path).stdout
    assert run_cli(["pipeline.local", "aws", "status"], env, tmp_path).returncode == 1


def test_models_cli_lists_promotes_and_shows_history(registry, blessed, settings, clean_env, tmp_path):
    files = publishable_files(*blessed, QUALITY_GATES / "thresholds.toml", QUALITY_GATES)
    manifest, _ = registry.publish(files.files, files.metadata, progress=lambda m: None)
    version = manifest["version"]
    env = {**clean_env, "AWS_ENDPOINT_URL": registry.s3.meta.endpoint_url, "MODEL_BUCKET_NAME": registry.bucket}
    listed = run_cli(["pipeline.models", "list"], env, tmp_path)
    assert listed.returncode == 0 and version in listed.stdout and "no champion yet" in listed.stdout
    assert "champion is now" in run_cli(["pipeline.models", "promote", version], env, tmp_path).stdout
    assert f"* {version}" in run_cli(["pipeline.models", "list"], env, tmp_path).stdout
    assert version in run_cli(["pipeline.models", "history"], env, tmp_path).stdout
    shown = json.loads(run_cli(["pipeline.models", "show", version], env, tmp_path).stdout)
    assert shown["version"] == version
    missing = run_cli(["pipeline.models", "show", "000000000000"], env, tmp_path)
    assert missing.returncode == 1 and "not published" in missing.stderr
