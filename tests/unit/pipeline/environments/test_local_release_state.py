"""The local release state fails closed: a state file that is no record stops the deploy in one line."""

import json

import pytest

from pipeline.environments import local_release, processes
from pipeline.environments.local import LocalEnvironment
from pipeline.errors import StageError
from pipeline.records import Release
from pipeline.settings import PipelineSettings

RECORD = {"pid": 123456789, "started": 1, "port": 8000, "log": "x",
          "details": {"url": "http://127.0.0.1:8000", "release": {"model_version": "0123456789ab"}}}  # fmt: skip


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe",
        json.dumps([1, 2]).encode(),
        json.dumps({**RECORD, "pid": "1; rm -rf"}).encode(),
        json.dumps({**RECORD, "details": {}}).encode(),
        json.dumps({**RECORD, "surprise": 1}).encode(),
    ],
)
def test_an_unreadable_or_inconsistent_state_file_stops_the_deploy_naming_the_file_and_the_way_out(tmp_path, content):
    (tmp_path / "current.json").write_bytes(content)
    with pytest.raises(StageError) as caught:
        local_release.check_state(tmp_path)
    message = str(caught.value)
    assert caught.value.exit_code == 2 and "\n" not in message
    assert str(tmp_path / "current.json") in message and "deploy --stop-local" in message


def test_two_files_recording_one_process_are_inconsistent(tmp_path):
    for name in ("current.json", "parked.json"):
        (tmp_path / name).write_text(json.dumps(RECORD))
    with pytest.raises(StageError, match="record the same process twice"):
        local_release.check_state(tmp_path)


def test_no_state_at_all_and_a_readable_state_pass(tmp_path):
    local_release.check_state(tmp_path)
    (tmp_path / "parked.json").write_text(json.dumps(RECORD))
    local_release.check_state(tmp_path)
    assert processes.StateFile(tmp_path / "parked.json").checked("url").port == 8000


def test_a_deploy_over_an_unreadable_current_json_starts_nothing(tmp_path):
    settings = PipelineSettings(artifacts_dir=tmp_path / "artifacts", local_endpoint_port=1)
    state = settings.local_release_dir
    state.mkdir(parents=True)
    (state / "current.json").write_text("{")
    release = Release(image="r/i:t", image_built=False, model_version="0123456789ab", git_sha="0" * 40,
                      environment="local", model_bucket="b", shared={})  # fmt: skip
    with pytest.raises(StageError, match=r"current\.json is not a process record"):
        LocalEnvironment(settings).serve(release, "http://unused")
    assert not settings.local_endpoint_dir.exists()  # no load balancer, no release was started
