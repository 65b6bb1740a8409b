"""The serving image, for real: build through `python -m pipeline.build`, push to the local registry,
pull back by digest, run it hardened on a loopback port and call /predict.

Needs a container engine (docker, or podman as .ci/containers sets it up) and Debian's docker-registry.
Takes about a minute (wheelhouse + build).
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from importlib import metadata
from pathlib import Path

import pytest

from pipeline.environments import container_engine, image_registry, local_release, processes
from pipeline.environments import emulator as localaws
from pipeline.model_registry import ModelRegistryWriter
from pipeline.records import PublishedVersion
from pipeline.stages.publish import publishable_files
from sentiment.app import release_id
from sentiment.model_registry import s3_client

ENGINE = container_engine.find()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(ENGINE is None, reason="NOT TESTED: no container engine (docker or podman); run .ci/containers"),
    pytest.mark.skipif(shutil.which("docker-registry") is None, reason="NOT TESTED: Debian's docker-registry missing"),
]
REPO = Path(__file__).resolve().parents[3]
MAX_IMAGE_BYTES = 400e6
QUALITY_GATES = REPO / "quality_gates"
ENVS = ("dev", "qa", "prod")


@pytest.fixture(scope="module")
def workspace(blessed, tmp_path_factory):
    """An emulator with the blessed model published, and the env the stages run with."""
    root = tmp_path_factory.mktemp("image")
    emulator = localaws.up(root / "localaws")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "PROJECT_", "AWS_", "CONTAINER_"))}
    env |= {
        "PROJECT_NAME": f"img-{uuid.uuid4().hex[:8]}",
        "PROJECT_ENV": "local",
        "ARTIFACTS_DIR": str(root / "artifacts"),
        **localaws.environment("eu-west-1", localaws.endpoint_of(emulator)),
    }
    bucket = f"{env['PROJECT_NAME']}-local-models"
    os.environ.update(localaws.environment("eu-west-1", localaws.endpoint_of(emulator)))
    s3 = s3_client("eu-west-1")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    files = publishable_files(*blessed, QUALITY_GATES / "thresholds.toml", QUALITY_GATES)
    manifest, _ = ModelRegistryWriter(s3, bucket).publish(files.files, files.metadata, progress=lambda m: None)
    published = {"version": manifest["version"], "bucket": bucket, "prefix": "", "manifest_sha256": ""}
    PublishedVersion(**published, published=manifest["published"], newly_published=True).write(root / "artifacts")
    yield env, manifest["version"], bucket
    image_registry.down(root / "artifacts" / "image-registry")
    localaws.down(root / "localaws")


def build(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "pipeline.build", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=900
    )


def image_record(env):
    return json.loads((Path(env["ARTIFACTS_DIR"]) / "image.json").read_text())


@pytest.fixture(scope="module")
def built(workspace):
    env, _, _ = workspace
    out = build(env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr
    return image_record(env)


def test_build_pushes_an_immutable_tag_and_records_its_digest(workspace, built):
    env, version, _ = workspace
    assert re.fullmatch(rf"[0-9a-f]{{12}}(-dirty[0-9a-f]{{8}})?-{version}", built["tag"])
    assert built["reference"].endswith(f"/{env['PROJECT_NAME']}-local:{built['tag']}")
    held = image_registry.digest(built["registry"], built["repository"], built["tag"])
    assert held == built["digest"] and built["digest"].startswith("sha256:")
    print(f"\nimage size: {built['size_bytes'] / 1e6:.0f} MB ({built['engine']}, base {built['base_image']})")
    assert built["size_bytes"] <= MAX_IMAGE_BYTES


def test_the_build_keeps_a_cyclonedx_sbom_of_the_images_packages_beside_the_model_version(workspace, built):
    env, version, bucket = workspace
    sbom = json.loads((Path(env["ARTIFACTS_DIR"]) / "reports" / "sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    listed = {c["name"].lower().replace("_", "-"): c.get("version") for c in sbom["components"]}
    # The image installs the versions the tests ran with (the wheelhouse pins them).
    for name in ("falcon", "granian", "numpy", "cryptography", "sentiment-api"):
        assert listed.get(name) == metadata.version(name), (name, listed.get(name))
    assert not {"tensorflow", "model-signing", "sigstore", "pip"} & set(listed), "the image holds the service only"
    key = f"models/{version}/sboms/{built['digest'].replace(':', '-')}.cdx.json"
    assert built["sbom"] == f"s3://{bucket}/{key}"
    stored = s3_client("eu-west-1").get_object(Bucket=bucket, Key=key)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == built["sbom_sha256"] and json.loads(stored) == sbom


def test_the_image_is_non_root_labelled_and_health_checked(built):
    inspected = ENGINE.inspect(built["reference"])
    config = inspected["Config"]
    assert config["User"] == "10001:10001"
    assert config["Labels"]["org.opencontainers.image.revision"] == built["git_sha"]
    assert config["Labels"]["org.opencontainers.image.version"] == built["model_version"]
    healthcheck = config.get("Healthcheck") or inspected["Healthcheck"]  # docker nests it in Config, podman not
    assert "sentiment.healthcheck" in " ".join(healthcheck["Test"])
    whoami = subprocess.run(
        [ENGINE.path, "run", "--rm", "--network=none", "--entrypoint", "id", built["reference"], "-u"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert whoami.stdout.strip() == "10001", whoami.stderr
    no_tensorflow = subprocess.run(
        [ENGINE.path, "run", "--rm", "--network=none", built["reference"], "python3", "-c", "import tensorflow"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert no_tensorflow.returncode != 0 and "No module named 'tensorflow'" in no_tensorflow.stderr


def test_the_image_has_no_setuid_binaries_package_tools_or_setuptools(built):
    """Nothing in the image can gain privileges (setuid/setgid binaries) or install software (apt, dpkg,
    pip); the old setuptools a venv brings is gone (the base had su, passwd, mount... and setuptools 66)."""
    probe = (
        'found=$(find / -xdev -type f -perm /6000 2>/dev/null); echo "setuid: $found"; '
        "for tool in apt apt-get dpkg pip pip3; do command -v $tool; done; "
        "python3 -c 'import setuptools' 2>/dev/null && echo setuptools; "
        "python3 -c 'import pip' 2>/dev/null && echo pip; true"
    )
    checked = subprocess.run(
        [ENGINE.path, "run", "--rm", "--network=none", "--entrypoint", "sh", built["reference"], "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "setuid:", checked.stdout


def test_the_image_holds_the_service_and_not_the_pipeline(built):
    def python(code):
        command = [ENGINE.path, "run", "--rm", "--network=none", built["reference"], "python3", "-c", code]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    assert python("import sentiment.app").returncode == 0
    no_pipeline = python("import pipeline")
    assert no_pipeline.returncode != 0 and "No module named 'pipeline'" in no_pipeline.stderr
    # ...with the committed public keys model signatures are checked with in dev, qa and prod
    committed = {env: (REPO / "src/sentiment/signing_keys" / f"{env}.pub").read_bytes() for env in ENVS}
    checks = [f"print(Settings(project_env={env!r}).trusted_model_key() == {key!r})" for env, key in committed.items()]
    keys = python("from sentiment.settings import Settings; " + "; ".join(checks))
    assert keys.stdout.split() == ["True"] * 3, keys.stderr


def test_pushed_image_pulls_back_by_digest(built):
    subprocess.run([ENGINE.path, "rmi", "--force", built["pinned"]], capture_output=True, check=False)
    ENGINE.pull(built["pinned"], insecure=True)
    assert ENGINE.image_exists(built["pinned"])


def test_the_container_serves_predict_read_only_and_stops_cleanly(workspace, built, tmp_path):
    env, version, bucket = workspace
    release = {"image": built["reference"], "model_version": version}
    run_env = {**env, "MODEL_VERSION": version, "MODEL_BUCKET_NAME": bucket, "IMAGE_REF": built["reference"]}
    state = local_release.start(tmp_path, release, {**run_env, "SERVE_WORKERS": "1"}, ENGINE).details
    try:
        request = urllib.request.Request(
            f"{state['url']}/predict",
            data=json.dumps({"text": "a wonderful, moving film"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            body = json.loads(resp.read())
            server = resp.headers["server"]
        assert 0.5 < body["score"] <= 1.0 and body["model_version"] == version
        assert server == "granian", "the image's CMD is `python -m sentiment serve` (Granian by default)"
        with urllib.request.urlopen(f"{state['url']}/version", timeout=10) as resp:
            assert json.loads(resp.read())["release"] == release_id(built["reference"])  # not the image itself
        with urllib.request.urlopen(f"{state['url']}/metrics", timeout=10) as resp:
            # SERVE_WORKERS=1 reached the container (local_release.CONTAINER_ENV); else min(4, cores) would run.
            assert "sentiment_worker_processes 1.0" in resp.read().decode()
        inspected = json.loads(
            subprocess.run(
                [ENGINE.path, "inspect", state["container"]], capture_output=True, text=True, check=True
            ).stdout
        )[0]
        assert inspected["HostConfig"]["ReadonlyRootfs"] is True
    finally:
        assert local_release.stop(tmp_path)
    gone = subprocess.run([ENGINE.path, "inspect", state["container"]], capture_output=True, check=False)
    assert gone.returncode != 0, "the stopped release's container must be removed"


def test_a_release_whose_engine_cli_was_killed_is_still_removed(workspace, built, tmp_path):
    """A killed `podman run` / `docker run` leaves its container serving; the next release must remove it."""
    env, version, bucket = workspace
    release = {"image": built["reference"], "model_version": version}
    run_env = {**env, "MODEL_VERSION": version, "MODEL_BUCKET_NAME": bucket, "SERVE_WORKERS": "1"}
    started = local_release.start(tmp_path, release, run_env, ENGINE)
    first = started.details
    os.kill(started.pid, signal.SIGKILL)  # the CLI only
    time.sleep(1)
    assert processes.http_ok(f"{first['url']}/ready"), "the container outlived its CLI (the case under test)"
    second = local_release.start(tmp_path, release, run_env, ENGINE).details
    try:
        assert not processes.http_ok(f"{first['url']}/ready")
        assert subprocess.run([ENGINE.path, "inspect", first["container"]], capture_output=True).returncode != 0
    finally:
        assert local_release.stop(tmp_path)
    assert subprocess.run([ENGINE.path, "inspect", second["container"]], capture_output=True).returncode != 0


def test_rebuilding_the_same_tree_and_model_reuses_the_tag(workspace, built):
    env, _, _ = workspace
    again = build(env)
    assert again.returncode == 0, again.stderr
    assert "already in the image registry" in again.stdout
    record = image_record(env)
    assert record["reused"] is True and record["digest"] == built["digest"]


def test_no_image_is_built_for_a_version_that_is_not_published(workspace, built):
    env, _, bucket = workspace
    out = build(env, "--model-version", "d" * 12)
    assert out.returncode == 1 and out.stderr.strip().splitlines() == [
        f"build: error: model version {'d' * 12} is not published in bucket {bucket}"
    ]
    assert image_record(env)["digest"] == built["digest"], "nothing was built or recorded"


def test_an_image_for_another_model_version_names_that_version(workspace, built):
    """Same tree, another model: the new image's label and MODEL_VERSION name the new version.

    Guards the Dockerfile's order: buildah (podman 4.3) keys its layer cache for LABEL and ENV by their
    unexpanded text, so with nothing but metadata after the ARGs a second build reuses the first image whole,
    first model version included. A RUN after the ARGs (its key includes their values) prevents that."""
    env, version, bucket = workspace
    other = "e" * 12 if version != "e" * 12 else "f" * 12
    # build makes images only for published versions: a manifest is enough here (no key is trusted in this bucket)
    manifest = {"schema": 1, "version": other, "files": {}, "published": "2026-01-01T00:00:00+00:00"}
    key = f"models/{other}/manifest.json"
    s3_client("eu-west-1").put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
    out = build(env, "--model-version", other)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr
    record = image_record(env)
    try:
        assert record["tag"].endswith(f"-{other}") and record["reused"] is False
        config = ENGINE.inspect(record["reference"])["Config"]
        assert config["Labels"]["org.opencontainers.image.version"] == other, config["Labels"]
        assert f"MODEL_VERSION={other}" in config["Env"], config["Env"]
    finally:
        subprocess.run([ENGINE.path, "rmi", "--force", record["reference"]], capture_output=True, check=False)


@pytest.mark.parametrize(("environment", "code"), [("local", 0), ("dev", 2)])
def test_without_an_engine_local_goes_on_and_cloud_stops(workspace, tmp_path, environment, code):
    env, _, _ = workspace
    env = {**env, "CONTAINER_ENGINE": "no-such-engine", "PROJECT_ENV": environment, "ARTIFACTS_DIR": str(tmp_path)}
    (tmp_path / "image.json").write_text("{}")
    out = build(env)
    assert out.returncode == code
    assert "looked for no-such-engine" in out.stdout + out.stderr
    if code:
        assert out.stderr.strip().count("\n") == 0, out.stderr
    else:
        assert not (tmp_path / "image.json").exists(), "a stale image record would be deployed"
