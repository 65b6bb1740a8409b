"""Releases of a checkout that run without a record are found by their environment: a deploy refuses
to go on over them, and `deploy --stop-local` stops them (before, they kept serving untracked)."""

import json
import os
import subprocess
import sys

import pytest

from pipeline.environments import local_release, processes
from pipeline.errors import StageError

SLEEPER = "import time; time.sleep(120)"


def start(state_dir, port, container=False):
    """A stand-in for a release started for `state_dir` (the environment marks it), in its own session: a
    process release (--bind on its command line) or a container's engine CLI (SERVE_BIND in its environment)."""
    env = {**os.environ, local_release.RELEASE_STATE_DIR: str(state_dir.resolve())}
    bind = ["--bind", f"127.0.0.1:{port}"]
    if container:
        env, bind = env | {"SERVE_BIND": f"127.0.0.1:{port}"}, []
    return subprocess.Popen([sys.executable, "-c", SLEEPER, *bind], env=env, start_new_session=True)


@pytest.fixture
def started():
    procs = []
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait()


def test_a_release_running_after_its_record_was_lost_stops_the_deploy_and_stop_local_stops_it(tmp_path, started):
    ours, other = tmp_path / "ours", tmp_path / "other"
    ours.mkdir(), other.mkdir()
    stray, bystander, engine_cli = start(ours, 18001), start(other, 18002), start(ours, 18004, container=True)
    started += [stray, bystander, engine_cli]
    (ours / "current.json").write_text("{")  # the record is unreadable: lost
    with pytest.raises(StageError, match=r"current\.json is not a process record"):
        local_release.check_state(ours)
    (ours / "current.json").unlink()
    with pytest.raises(StageError) as caught:
        local_release.check_state(ours)
    assert f"pid {stray.pid}" in str(caught.value) and "http://127.0.0.1:18001" in str(caught.value)
    assert f"http://127.0.0.1:18004 (pid {engine_cli.pid})" in str(caught.value)
    assert str(bystander.pid) not in str(caught.value)

    (ours / "current.json").write_text("{")
    stopped = local_release.stop(ours)
    assert sorted(r.pid for r in stopped) == sorted([stray.pid, engine_cli.pid])
    assert stray.wait(15) is not None and engine_cli.wait(15) is not None and bystander.poll() is None
    assert not (ours / "current.json").exists()
    local_release.check_state(ours)


def test_a_recorded_release_is_not_a_stray(tmp_path, started):
    release = start(tmp_path, 18003)
    started.append(release)
    record = processes.Recorded(release.pid, processes.start_time(release.pid), 18003, "log",
                                {"url": "http://127.0.0.1:18003", "release": {}})  # fmt: skip
    (tmp_path / "current.json").write_text(json.dumps(record.__dict__))
    assert local_release.unrecorded(tmp_path) == []
    local_release.check_state(tmp_path)
