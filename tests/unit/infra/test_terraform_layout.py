"""Module conventions of infra/ read from the files: layout, typed and described variables, per-environment
files, checkov skips with reasons."""

import re

import pytest

from pipeline.release.terraform import INFRA

MODULES = sorted(p for p in (INFRA / "modules").iterdir() if p.is_dir())
STACKS = ["shared", "service"]
ENVIRONMENTS = ["local", "dev", "qa", "prod"]


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
