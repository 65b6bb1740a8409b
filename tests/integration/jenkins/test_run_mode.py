"""Run mode: the Jenkinsfile's own sh steps executed for real, on branch main, with PROJECT_ENV=local.

The harness evaluates the real Jenkinsfile and runs each of its `sh` scripts with `sh -xe` in the checkout,
with the environment Jenkins would give it (parameters, `environment`, the bound credentials) over this
process's. Two departures, both made here and nowhere else:
- Setup and Test are stubbed (recorded, not run): Setup is the .venv this test already runs in, and Test is
  the suite this test belongs to (running it inside itself would recurse).
- PROJECT_ENV is forced to `local` (the ENV parameter only offers dev, qa and prod), so every AWS call goes to
  the emulator this test starts, and ARTIFACTS_DIR points at a temporary directory so that the developer's
  artifacts/ is left alone; `junit` and `archiveArtifacts` are recorded, not published.
Train, gate, provision, publish, build, deploy and smoke then run exactly as the Jenkinsfile writes them and end
in a live, smoke-tested local release. A Jenkinsfile edit that breaks a real command fails this test. Their
output is in the test's log (stderr), between Jenkins-like `[Pipeline] stage '...'` markers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import uuid
from pathlib import Path

import pytest
from jenkins_harness import JENKINSFILE, REPO, run, scenario, shell, statuses, steps
from test_scenarios import RELEASE, SETUP_AND_TESTS, TRAIN_AND_GATE

from pipeline.environments import emulator as localaws
from pipeline.environments import processes

NO_TERRAFORM = shutil.which("terraform") is None


@pytest.fixture
def local_environment():
    """The agent's environment for a local build: the emulator, a fresh project name, its own artifacts.

    Not in tmp_path: under xdist that path is long enough to push HAProxy's admin socket
    (<artifacts>/endpoint/admin.sock) past the 97 characters a unix socket path may have.
    """
    root = Path(tempfile.mkdtemp(prefix="run-mode-"))
    state = root / "localaws"
    state.mkdir()
    emulator = localaws.up(state)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "PROJECT_", "AWS_"))}
    env |= {
        "PROJECT_NAME": f"jk-{uuid.uuid4().hex[:8]}",
        "ARTIFACTS_DIR": str(root / "artifacts"),
        **localaws.environment("eu-west-1", localaws.endpoint_of(emulator)),
        "LOCAL_SERVE_WORKERS": "1",
        "LOCAL_ENDPOINT_PORT": str(processes.free_port()),
    }
    yield env
    for command in (["pipeline.deploy", "--stop-local"], ["pipeline.image_registry", "down"]):
        subprocess.run([sys.executable, "-m", *command], env=env, cwd=REPO, capture_output=True, timeout=300)
    localaws.down(state)
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.skipif(NO_TERRAFORM, reason="NOT TESTED: terraform is not installed (>= 1.5)")
def test_the_jenkinsfile_builds_a_live_local_release_on_main(local_environment, capsys):
    build = scenario(
        mode="run",
        workspace=str(REPO),
        forceEnv={"PROJECT_ENV": "local", "ARTIFACTS_DIR": local_environment["ARTIFACTS_DIR"]},
        sh=[{"match": command, "exit": 0} for command in SETUP_AND_TESTS],
    )
    with capsys.disabled():  # the stages' own output goes to the test log as it comes, pass or fail
        (trace,) = run([build], timeout=3000, stream=True, env=local_environment)

    assert trace["refused"] is None
    ran = steps(trace, "sh")
    failed = [s for s in ran if s["exit"] != 0]
    # The end of the failed step's log in the failure message: in CI only the summary may be kept.
    assert not failed, "\n".join([f"{failed[0]['script']} exited {failed[0]['exit']}:", *failed[0].get("tail", [])])
    assert shell(trace) == SETUP_AND_TESTS + TRAIN_AND_GATE + RELEASE
    assert [s.get("stubbed", False) for s in ran] == [True] * 4 + [False] * 8
    assert set(statuses(trace).values()) == {"SUCCESS"}
    assert trace["post"] == ["always", "success"] and trace["result"] == "SUCCESS"

    artifacts = Path(local_environment["ARTIFACTS_DIR"])
    smoke = json.loads((artifacts / "reports" / "smoke.json").read_text())
    assert smoke["passed"] is True, smoke
    deploy = json.loads((artifacts / "deploy.json").read_text())
    request = urllib.request.Request(
        deploy["endpoint_url"].rstrip("/") + "/predict",
        data=json.dumps({"text": "have a nice day!"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())
    assert answer["label"] == "positive" and answer["model_version"] == deploy["release"]["model_version"]


def test_a_broken_command_fails_the_run(tmp_path):
    """Run mode runs what the file says: a misspelled stage module fails Train, and nothing after it runs."""
    broken = tmp_path / "Jenkinsfile"
    broken.write_text(JENKINSFILE.read_text().replace("-m pipeline.train", "-m pipeline.trian"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "PROJECT_", "AWS_"))}
    build = scenario(
        jenkinsfile=str(broken),
        mode="run",
        workspace=str(REPO),
        forceEnv={"PROJECT_ENV": "local", "ARTIFACTS_DIR": str(tmp_path / "artifacts")},
        sh=[{"match": command, "exit": 0} for command in SETUP_AND_TESTS],
    )
    (trace,) = run([build], env=env)
    assert shell(trace) == [*SETUP_AND_TESTS, "$PY -m pipeline.trian"]
    failed = steps(trace, "sh")[-1]
    assert failed["exit"] == 1 and "No module named pipeline.trian" in failed["tail"][-1], failed["tail"]
    assert statuses(trace)["Train"] == "FAILURE" and statuses(trace)["Smoke"] == "skipped: earlier failure"
    assert trace["post"] == ["always", "failure"] and trace["result"] == "FAILURE"
