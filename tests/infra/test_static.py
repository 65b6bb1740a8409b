"""Static checks of infra/: formatting, validation, checkov, module conventions, the user_data template."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.release.terraform import INFRA, Terraform

REPO = Path(__file__).resolve().parents[2]
CHECKOV = REPO / ".venv-tools" / "bin" / "checkov"
MODULES = sorted(p for p in (INFRA / "modules").iterdir() if p.is_dir())
STACKS = ["shared", "service"]
ENVIRONMENTS = ["local", "dev", "qa", "prod"]

needs_terraform = pytest.mark.skipif(
    shutil.which("terraform") is None, reason="NOT TESTED: terraform is not installed on this machine (>= 1.5 needed)"
)


@needs_terraform
def test_terraform_fmt_is_clean():
    out = subprocess.run(["terraform", "fmt", "-check", "-recursive", str(INFRA)], capture_output=True, text=True)
    assert out.returncode == 0, f"unformatted: {out.stdout}"


@needs_terraform
@pytest.mark.parametrize("stack", STACKS)
def test_stack_validates(stack, tmp_path):
    tf = Terraform(stack, "local", tmp_path, log=lambda m: None)
    tf.run("init", "-backend=false", "-input=false", quiet=True)
    assert "The configuration is valid" in tf.run("validate", quiet=True).stdout


@pytest.mark.skipif(not CHECKOV.exists(), reason="NOT TESTED: checkov missing; run bash .ci/setup (.venv-tools)")
def test_checkov_reports_no_failed_check():
    out = subprocess.run(
        [str(CHECKOV), "-d", str(INFRA), "--framework", "terraform", "--skip-download", "-o", "json", "--quiet"],
        capture_output=True,
        text=True,
        env={"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "PATH": "/usr/bin:/bin"},
    )
    report = json.loads(out.stdout)
    summary = (report[0] if isinstance(report, list) else report)["summary"]
    assert summary["failed"] == 0 and summary["passed"] > 50, summary


def test_every_checkov_skip_gives_a_reason():
    for path in INFRA.rglob("*.tf"):
        for line in path.read_text().splitlines():
            if "checkov:skip" in line:
                assert re.search(r"checkov:skip=CKV2?_AWS_\d+:\S.{10,}", line), f"{path}: {line.strip()}"


@pytest.mark.parametrize("directory", [*MODULES, *(INFRA / s for s in STACKS)], ids=lambda p: p.name)
def test_layout_and_every_variable_typed_and_described(directory):
    expected = {"main.tf", "variables.tf", "outputs.tf", "versions.tf"}
    assert expected <= {p.name for p in directory.glob("*.tf")}
    if directory.parent.name == "modules":
        assert (directory / "README.md").exists()
    text = (directory / "variables.tf").read_text()
    blocks = re.findall(r'variable "(\w+)" \{(.*?)\n\}', text, re.S)
    assert blocks
    for name, body in blocks:
        assert re.search(r'description\s*=\s*"\S', body), f"{directory.name}: {name} has no description"
        assert re.search(r"\btype\s*=", body), f"{directory.name}: {name} has no type"
    for name, body in re.findall(r'output "(\w+)" \{(.*?)\n\}', (directory / "outputs.tf").read_text(), re.S):
        assert "description" in body, f"{directory.name}: output {name} has no description"


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_environment_has_var_and_backend_files(stack, environment):
    assert (INFRA / stack / "env" / f"{environment}.tfvars").is_file()
    backend = (INFRA / stack / "backend" / f"{environment}.s3.tfbackend").read_text()
    assert re.search(r"use_lockfile\s*=\s*true", backend)
    assert re.search(r"encrypt\s*=\s*true", backend)


def test_emulator_switches_live_only_in_the_local_files():
    for stack in STACKS:
        for environment in ("dev", "qa", "prod"):
            text = (INFRA / stack / "env" / f"{environment}.tfvars").read_text()
            assert not re.search(
                r"^\s*(emulator|detailed_monitoring|require_tls|enable_event_notifications)\s*=", text, re.M
            ), f"{stack}/{environment}"


@needs_terraform
def test_user_data_names_the_image_and_model_version(tmp_path):
    template = INFRA / "modules" / "server" / "templates" / "user_data.sh.tftpl"
    expression = (
        f'templatefile("{template}", {{image = "123.dkr.ecr.eu-west-1.amazonaws.com/app:abc123-v42", '
        'registry = "123.dkr.ecr.eu-west-1.amazonaws.com", model_version = "v42", model_bucket = "models-bucket", '
        'region = "eu-west-1", port = 8000, service_port = 8001, service = "app-dev", log_group = "app-dev/service"})'
    )
    out = subprocess.run(
        ["terraform", "console"],
        input=expression,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "CHECKPOINT_DISABLE": "1"},
    )
    assert out.returncode == 0, out.stderr
    rendered = out.stdout
    assert "docker pull 123.dkr.ecr.eu-west-1.amazonaws.com/app:abc123-v42" in rendered
    assert "-e MODEL_VERSION=v42" in rendered and "-e MODEL_BUCKET_NAME=models-bucket" in rendered
    assert "Restart=always" in rendered and "--read-only" in rendered
    assert "docker login --username AWS --password-stdin 123.dkr.ecr.eu-west-1.amazonaws.com" in rendered


HADOLINT = REPO / ".venv-tools" / "bin" / "hadolint"


@pytest.mark.skipif(not HADOLINT.exists(), reason="NOT TESTED: hadolint missing; run bash .ci/setup (.venv-tools)")
def test_hadolint_finds_nothing_in_the_dockerfile():
    out = subprocess.run([str(HADOLINT), str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
