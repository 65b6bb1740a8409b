"""A service that cannot start says why in one line, `sentiment: cannot start: ...`, and exits
non-zero: invalid settings, an unusable model cache directory, a malformed manifest in the bucket,
an unsigned model where signatures are required (dev);
under gunicorn (which then halts instead of respawning), the CLI and the bare WSGI module."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


VERSION = "00000000000a"
MALFORMED_VERSION = "00000000000b"


@pytest.fixture(scope="module")
def bucket():
    """(endpoint, bucket) of an in-process moto S3 with VERSION published (a manifest) and a
    MALFORMED_VERSION whose manifest is not JSON."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    s3.create_bucket(Bucket="models", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    manifest = {"schema": 1, "version": VERSION, "files": {}}
    s3.put_object(Bucket="models", Key=f"models/{VERSION}/manifest.json", Body=json.dumps(manifest).encode())
    s3.put_object(Bucket="models", Key=f"models/{MALFORMED_VERSION}/manifest.json", Body=b'{"schema": 1, "files": ')
    yield endpoint, "models"
    server.stop()


def failure_env(case: str, clean_env: dict[str, str], tmp_path: Path, bucket: tuple[str, str]) -> dict[str, str]:
    env = {**clean_env, "GUNICORN_WORKERS": "1", "GUNICORN_ACCESSLOG": "", "TMPDIR": str(tmp_path)}
    if case == "invalid-settings":
        return {**env, "PROJECT_ENV": "nonsense", "MODEL_VERSION": "bad version"}
    endpoint, name = bucket
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="x",
        AWS_SECRET_ACCESS_KEY="x",
        AWS_DEFAULT_REGION="eu-west-1",
        MODEL_BUCKET_NAME=name,
        MODEL_CACHE_DIR=str(tmp_path / "cache"),
    )
    if case == "unwritable-cache-dir":
        (tmp_path / "not-a-directory").write_text("")
        return {**env, "MODEL_VERSION": VERSION, "MODEL_CACHE_DIR": str(tmp_path / "not-a-directory" / "cache")}
    if case == "unsigned-in-dev":  # dev checks every model with its committed public key
        return {**env, "MODEL_VERSION": VERSION, "PROJECT_ENV": "dev", "EMF_SERVICE": "off"}
    assert case == "malformed-manifest"
    return {**env, "MODEL_VERSION": MALFORMED_VERSION}


FAILURES = [
    ("invalid-settings", "invalid settings: PROJECT_ENV='nonsense'"),
    ("unwritable-cache-dir", "NotADirectoryError"),
    ("malformed-manifest", "manifest.json is not valid JSON"),
    ("unsigned-in-dev", f"model {VERSION} is unsigned: s3://models/models/{VERSION}/model.sig is missing"),
]


def assert_one_line(stderr: str, returncode: int, expected: str) -> None:
    own = [line for line in stderr.splitlines() if line.strip() and not line.startswith("[")]
    assert returncode != 0
    assert len(own) == 1, "\n".join(own[-30:])
    assert own[0].startswith("sentiment: cannot start: ") and expected in own[0], own[0]


@pytest.mark.parametrize(("case", "expected"), FAILURES)
def test_gunicorn_that_cannot_start_says_why_in_one_line(case, expected, clean_env, tmp_path, free_port, bucket):
    env = failure_env(case, clean_env, tmp_path, bucket)
    command = [sys.executable, "-m", "gunicorn", "-c", "python:sentiment.gunicorn_conf"]
    try:
        out = subprocess.run(
            [*command, "--bind", f"127.0.0.1:{free_port}", "sentiment.wsgi:api"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=90,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail("gunicorn kept running (respawning workers?) instead of stopping")
    assert_one_line(out.stderr, out.returncode, expected)


@pytest.mark.parametrize(("case", "expected"), FAILURES)
def test_the_cli_that_cannot_start_says_why_in_one_line(case, expected, clean_env, tmp_path, bucket):
    env = failure_env(case, clean_env, tmp_path, bucket)
    out = subprocess.run(
        [sys.executable, "-m", "sentiment", "predict", "hello"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert_one_line(out.stderr, out.returncode, expected)
    assert out.stdout == ""


def test_the_wsgi_module_that_cannot_start_exits_with_gunicorns_boot_error_code(clean_env, tmp_path):
    env = {**clean_env, "PROJECT_ENV": "nonsense"}
    out = subprocess.run(
        [sys.executable, "-c", "import sentiment.wsgi"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert_one_line(out.stderr, out.returncode, "PROJECT_ENV")
    assert out.returncode == 3  # gunicorn's WORKER_BOOT_ERROR: it halts instead of respawning the worker


def test_an_unknown_test_fault_stops_the_service_at_start_in_one_line(clean_env, tmp_path, trained_dir):
    env = {**clean_env, "MODEL_DIR": str(trained_dir), "SENTIMENT_TEST_FAULT": "error_share:2"}
    out = subprocess.run(
        [sys.executable, "-c", "import sentiment.wsgi"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert_one_line(out.stderr, out.returncode, "SENTIMENT_TEST_FAULT='error_share:2'")
