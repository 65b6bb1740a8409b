"""The stages' declarations are the one source: the run order, the Jenkinsfile's order, the records'
"run X first" hints and the import contracts are held to them here (the flow tables in README.md and
docs/reference/records.md are generated from them: tests/unit/docs/test_reference_docs.py)."""

import dataclasses
import fnmatch
import re
import tomllib
from pathlib import Path

import pytest

from pipeline import records
from pipeline.records import Deployment, ProvisionedStack, Stage
from pipeline.stages import declared, in_order

REPO = Path(__file__).resolve().parents[4]
JENKINSFILE = (REPO / "Jenkinsfile").read_text()
CONTRACTS = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
STAGES = declared()
COMMANDS = declared("pipeline.commands")
RECORDS = [
    value
    for value in vars(records).values()
    if isinstance(value, type) and value is not records.Record and hasattr(value, "FILE") and hasattr(value, "path")
]


def jenkins_order(source: str) -> list[str]:
    """`python -m pipeline.<x>` calls in file order, consecutive repeats collapsed (deploy plans, then applies)."""
    called = re.findall(r"-m pipeline\.(\w+)", source)
    return [name for i, name in enumerate(called) if i == 0 or called[i - 1] != name]


def problems(stages: list[Stage], commands: list[Stage], jenkinsfile: str, contracts: list[dict]) -> list[str]:
    found = []
    order = [stage.name for stage in in_order(stages)]
    if jenkins_order(jenkinsfile) != order:
        found.append(f"the Jenkinsfile runs {jenkins_order(jenkinsfile)}, the declarations give {order}")
    for record in RECORDS:
        writers = [u.name for u in stages if record in u.writes] or [u.name for u in commands if record in u.writes]
        producer = getattr(record, "PRODUCER", "train")  # Candidate: a directory, verified rather than read
        if writers != [producer.split()[0]]:
            found.append(f"{record.__name__}: PRODUCER {producer!r}, but written by {writers}")
    independent = next(c for c in contracts if c["type"] == "independence")["modules"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    for home, units in (("stages", stages), ("commands", commands)):
        for unit in units:
            module = f"pipeline.{home}.{unit.name}"
            if not any(fnmatch.fnmatchcase(module, pattern) for pattern in independent):
                found.append(f"{module} is not in the independence contract")
            if not any(f"pipeline.{home}" in [m.strip() for m in layer.split("|")] for layer in layers):
                found.append(f"pipeline.{home} is in no layer of the layers contract")
    return found


def test_the_declarations_the_jenkinsfile_the_records_and_the_contracts_agree():
    assert problems(STAGES, COMMANDS, JENKINSFILE, CONTRACTS) == []


def _replace(units: list[Stage], name: str, **changes) -> list[Stage]:
    return [dataclasses.replace(u, **changes) if u.name == name else u for u in units]


MISMATCHES = {
    # publish no longer needs the provisioned bucket: the declared order puts provision after publish
    "a stage's reads": lambda: (
        _replace(STAGES, "publish", reads=tuple(r for r in _by("publish").reads if r is not ProvisionedStack)),
        COMMANDS, JENKINSFILE, CONTRACTS,
    ),
    "the Jenkinsfile's order": lambda: (
        STAGES, COMMANDS,
        JENKINSFILE.replace("-m pipeline.build", "@@").replace("-m pipeline.publish", "-m pipeline.build")
        .replace("@@", "-m pipeline.publish"),
        CONTRACTS,
    ),
    "a stage missing from the Jenkinsfile": lambda: (
        STAGES, COMMANDS, re.sub(r"stage\('Publish'\).*?\n        }\n", "", JENKINSFILE, flags=re.S), CONTRACTS,
    ),
    "a record's producer": lambda: (_replace(STAGES, "deploy", writes=()), COMMANDS, JENKINSFILE, CONTRACTS),
    "a record written twice": lambda: (
        _replace(STAGES, "smoke", writes=(*_by("smoke").writes, Deployment)), COMMANDS, JENKINSFILE, CONTRACTS
    ),
    "the contracts list modules": lambda: (
        STAGES, COMMANDS, JENKINSFILE,
        [{**c, "modules": ["pipeline.stages.train", "pipeline.commands.*"]} if c["type"] == "independence" else c
         for c in CONTRACTS],
    ),
}  # fmt: skip


def _by(name: str) -> Stage:
    return next(stage for stage in STAGES if stage.name == name)


@pytest.mark.parametrize("mismatch", MISMATCHES)
def test_a_mismatch_is_found(mismatch):
    try:
        found = problems(*MISMATCHES[mismatch]())
    except TypeError as exc:  # in_order refuses a record with two producers outright
        found = [str(exc)]
    assert found, f"{mismatch} went unnoticed"


def test_a_record_missing_says_which_stage_to_run(tmp_path):
    with pytest.raises(records.RecordError, match=r"run `python -m pipeline.deploy` first"):
        Deployment.read(tmp_path)


def test_every_stage_and_command_runs_as_python_m_pipeline_name():
    import importlib.util

    for unit in STAGES + COMMANDS:
        spec = importlib.util.find_spec(f"pipeline.{unit.name}")
        assert spec is not None and spec.origin.endswith(f"/{unit.name}.py"), unit.name
