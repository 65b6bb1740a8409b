"""Static checks of infra/ that run tools: terraform fmt and validate, checkov, hadolint, the user_data template."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.release.terraform import INFRA, Terraform

REPO = Path(__file__).resolve().parents[3]
CHECKOV = REPO / ".venv-tools" / "bin" / "checkov"
STACKS = ["shared", "service"]

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


@needs_terraform
def test_user_data_names_the_image_and_model_version(tmp_path):
    template = INFRA / "modules" / "server" / "templates" / "user_data.sh.tftpl"
    expression = (
        f'templatefile("{template}", {{image = "123.dkr.ecr.eu-west-1.amazonaws.com/app:abc123-v42", '
        'registry = "123.dkr.ecr.eu-west-1.amazonaws.com", model_version = "v42", model_bucket = "models-bucket", '
        'region = "eu-west-1", port = 8000, service_port = 8001, service = "app-dev", log_group = "app-dev/service", '
        'environment = "dev", image_signing_public_key = "", verify_image = ""})'
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


def _variables(text: str) -> dict[str, str]:
    return dict(re.findall(r'^variable "(\w+)" \{(.*?)^\}', text, re.S | re.M))


@pytest.mark.parametrize("stack", STACKS)
def test_root_stacks_pass_module_inputs_through_without_validating_them_again(stack):
    """Each rule is written once, in the module: a root variable handed verbatim to a module input
    that validates itself carries no validation of its own (two copies of a rule drift apart)."""
    root = INFRA / stack
    declared = _variables((root / "variables.tf").read_text())
    twice = []
    for path in root.glob("*.tf"):
        for call in re.findall(r'^module "\w+" \{(.*?)^\}', path.read_text(), re.S | re.M):
            source = re.search(r'source\s*=\s*"([^"]+)"', call)
            inputs = _variables(((root / source.group(1)) / "variables.tf").read_text())
            for argument, variable in re.findall(r"^\s*(\w+)\s*=\s*var\.(\w+)\s*$", call, re.M):
                validated_in_module = "validation {" in inputs.get(argument, "")
                if validated_in_module and "validation {" in declared.get(variable, ""):
                    twice.append(f"var.{variable} -> {source.group(1)}:{argument}")
    assert twice == [], f"infra/{stack} validates again what its modules validate: {twice}"
