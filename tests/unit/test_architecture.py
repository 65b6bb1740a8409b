"""The architecture's rules, checked in process: one environment choice, typed records between stages.
The import contracts (lint-imports) are in tests/integration/code/test_import_contracts.py."""

import re
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline import environments
from pipeline.environments.aws import AwsEnvironment
from pipeline.environments.local import LocalEnvironment
from pipeline.errors import StageError, run
from pipeline.records import Deployment, GateReport, PublishedVersion, RecordError, Release
from pipeline.settings import PipelineSettings

REPO = Path(__file__).resolve().parents[2]


def test_the_local_or_cloud_choice_is_spelled_in_at_most_three_places():
    spelled = [
        f"{path.relative_to(REPO)}:{number}"
        for path in (REPO / "pipeline").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"project_env\s*[!=]=|[!=]=\s*\"(local|dev|qa|prod)\"|in \(\"(qa|prod|local)\"", line)
    ]
    assert 1 <= len(spelled) <= 3, spelled


def test_one_environment_object_per_kind(tmp_path):
    local = environments.current(PipelineSettings(project_env="local", _env_file=None))
    assert isinstance(local, LocalEnvironment) and local.serves_without_image and local.may_destroy
    for name in ("dev", "qa", "prod"):
        cloud = environments.current(PipelineSettings(project_env=name, _env_file=None))
        assert isinstance(cloud, AwsEnvironment) and not cloud.serves_without_image
        assert cloud.may_destroy is (name == "dev")
        assert cloud.smoke_deadline_s > local.smoke_deadline_s


RELEASE = Release(
    image="127.0.0.1:5000/app:0123456789ab-abcdefabcdef",
    image_built=True,
    model_version="abcdefabcdef",
    git_sha="0" * 40,
    environment="local",
    model_bucket="models",
    shared={"model_bucket_arn": "arn:aws:s3:::models"},
)


def test_records_round_trip_atomically_with_their_schema(tmp_path):
    deployment = Deployment(release=RELEASE, endpoint_url="http://127.0.0.1:1", runner="process", infrastructure_url="")
    path = deployment.write(tmp_path)
    assert path == tmp_path / "deploy.json" and Deployment.read(tmp_path) == deployment
    assert [p.name for p in tmp_path.iterdir()] == ["deploy.json"], "no temporary file is left behind"
    deployment.write(tmp_path)  # a rewrite replaces the file whole
    assert Deployment.read(tmp_path) == deployment


def test_a_missing_or_stale_record_names_the_stage_to_run(tmp_path):
    with pytest.raises(RecordError, match=r"publish.json is missing: run `python -m pipeline.publish` first"):
        PublishedVersion.read(tmp_path)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "gate.json").write_text('{"passed": true}')
    with pytest.raises(RecordError, match=r"schema None, not 1: run `python -m pipeline.gate` first"):
        GateReport.read(tmp_path)
    (tmp_path / "deploy.json").write_text('{"schema": 1, "endpoint_url": "x"}')
    with pytest.raises(RecordError, match="does not match its schema"):
        Deployment.read(tmp_path)
    assert RecordError("x").exit_code == 2


def test_a_stage_run_without_its_input_exits_2_with_one_line(tmp_path, capsys):
    def apply_without_a_plan(argv):
        return Release.read(tmp_path)

    assert run("deploy", apply_without_a_plan) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "run `python -m pipeline.deploy --plan-only` first" in err


def test_a_saved_plan_for_another_environment_is_refused(tmp_path):
    from pipeline.release import deployment

    replace(RELEASE, environment="prod").write(tmp_path)
    settings = PipelineSettings(project_env="local", artifacts_dir=tmp_path, _env_file=None)
    with pytest.raises(StageError, match="saved plan is for prod, not local"):
        deployment.apply_saved_plan(environments.current(settings), print)
