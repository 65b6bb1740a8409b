"""Run mode: the Jenkinsfile's own sh steps executed for real, with PROJECT_ENV=local, in an AWS-like mode.

The harness evaluates the real Jenkinsfile and runs each of its `sh` scripts with `sh -xe` in the checkout,
with the environment Jenkins would give it (parameters, `environment`, the bound credentials) over this
process's. Departures, all made here and nowhere else:
- Setup and the lint and test steps are stubbed (recorded, not run): Setup is the .venv this test already runs
  in, and the tests are the suite this test belongs to (running them inside itself would recurse).
- PROJECT_ENV is forced to `local` (the ENV parameter only offers dev, qa and prod), so every AWS call goes to
  the emulator this test starts, and ARTIFACTS_DIR points at a temporary directory so that the developer's
  artifacts/ is left alone; `junit` and `archiveArtifacts` are recorded, not published.
- AWS-like credentials: the agent's environment holds no AWS key, and LOCAL_AWS_CREDENTIALS=bound makes
  `local` use only the keys the Jenkinsfile binds around a step (withCredentials, from the scenario's store),
  so a stage that calls AWS without its credential bound fails here as it would in AWS.
Train, gate, provision, publish, build, deploy and smoke then run exactly as the Jenkinsfile writes them and end
in a live, smoke-tested local release. A Jenkinsfile edit that breaks a real command fails this test. Their
output is in the test's log (stderr), between Jenkins-like `[Pipeline] stage '...'` markers; the time per
stage and from the first stage's start to Smoke's end (the lead time) is printed and written to
artifacts/reports/jenkins-lead-time.json.
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
from jenkins_harness import (
    CREDENTIALS,
    JENKINSFILE,
    REPO,
    image_signing_key_credential,
    lead_time,
    run,
    scenario,
    shell,
    signing_key_credential,
    statuses,
    steps,
)
from test_scenarios import RELEASE, SETUP_AND_TESTS, TRAIN_AND_GATE

from pipeline.environments import emulator as localaws
from pipeline.environments import processes
from pipeline.supply_chain.keys import generate_key_pair

NO_TERRAFORM = shutil.which("terraform") is None
LEAD_TIME = REPO / "artifacts" / "reports" / "jenkins-lead-time.json"


def agent_environment() -> dict:
    """This process's environment without the project's settings and any AWS variable."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "PROJECT_", "AWS_", "LOCAL_AWS_"))}


def local_build(**overrides) -> dict:
    """A run-mode build on PROJECT_ENV=local, its artifacts in ARTIFACTS_DIR, setup and tests stubbed.

    The signing keys are real key pairs, as in dev: Jenkins' store holds the private halves (the Secret files
    Publish and Build bind) and the public halves stand in for dev's committed ones (MODEL_SIGNING_PUBLIC_KEY;
    the image key's where `local` trusts it, <artifacts>/keys/image-signing.pub)."""
    artifacts = overrides.pop("artifacts")
    keys = Path(tempfile.mkdtemp(prefix="run-mode-keys-"))
    generate_key_pair(keys / "signing.key", keys / "signing.pub")
    signing = {"type": "file", "secret": (keys / "signing.key").read_text()}
    public_key = (keys / "signing.pub").read_text()
    trusted_image_key = Path(artifacts) / "keys" / "image-signing.pub"
    trusted_image_key.parent.mkdir(parents=True, exist_ok=True)
    generate_key_pair(keys / "image-signing.key", trusted_image_key)
    image_signing = {"type": "file", "secret": (keys / "image-signing.key").read_text()}
    shutil.rmtree(keys)
    return scenario(
        mode="run",
        workspace=str(REPO),
        forceEnv={"PROJECT_ENV": "local", "ARTIFACTS_DIR": artifacts, "MODEL_SIGNING_PUBLIC_KEY": public_key},
        sh=[{"match": command, "exit": 0} for command in SETUP_AND_TESTS],
        credentials={
            **CREDENTIALS,
            signing_key_credential("dev"): signing,
            image_signing_key_credential("dev"): image_signing,
        },
        **overrides,
    )


def report_lead_time(trace: dict) -> dict:
    """Print the time per stage and the lead time, and keep them in artifacts/reports/ (Jenkins archives it)."""
    times = lead_time(trace)
    for stage in times["stages"]:
        print(f"lead time: {stage['stage']:<30} {stage['seconds']:>7.1f} s{'  (stubbed)' if stage['stubbed'] else ''}")
    print(f"lead time: start to a smoke-tested release {times['lead_time_s']:.1f} s ({times['result']})")
    LEAD_TIME.parent.mkdir(parents=True, exist_ok=True)
    LEAD_TIME.write_text(json.dumps(times, indent=2) + "\n")
    return times


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
    env = agent_environment()
    env |= {
        "PROJECT_NAME": f"jk-{uuid.uuid4().hex[:8]}",
        "ARTIFACTS_DIR": str(root / "artifacts"),
        **localaws.environment("eu-west-1", localaws.endpoint_of(emulator)),
        "LOCAL_SERVE_WORKERS": "1",
        "LOCAL_ENDPOINT_PORT": str(processes.free_port()),
    }
    # The agent holds no AWS key: only what the Jenkinsfile binds around a step reaches it.
    for name in localaws.DUMMY_CREDENTIALS:
        env.pop(name)
    yield env | {"LOCAL_AWS_CREDENTIALS": "bound"}
    env |= localaws.DUMMY_CREDENTIALS  # the clean-up below is not a stage: it uses the emulator's own keys
    for command in (["pipeline.deploy", "--stop-local"], ["pipeline.local", "image-registry", "down"]):
        subprocess.run([sys.executable, "-m", *command], env=env, cwd=REPO, capture_output=True, timeout=300)
    localaws.down(state)
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.skipif(NO_TERRAFORM, reason="NOT TESTED: terraform is not installed (>= 1.5)")
def test_the_jenkinsfile_builds_a_live_local_release_on_main(local_environment, capsys):
    build = local_build(artifacts=local_environment["ARTIFACTS_DIR"])
    with capsys.disabled():  # the stages' own output goes to the test log as it comes, pass or fail
        (trace,) = run([build], timeout=3000, stream=True, env=local_environment)
        times = report_lead_time(trace)

    assert trace["refused"] is None
    ran = steps(trace, "sh")
    failed = [s for s in ran if s["exit"] != 0]
    # The end of the failed step's log in the failure message: in CI only the summary may be kept.
    assert not failed, "\n".join([f"{failed[0]['script']} exited {failed[0]['exit']}:", *failed[0].get("tail", [])])
    assert shell(trace) == SETUP_AND_TESTS + TRAIN_AND_GATE + RELEASE
    assert [s.get("stubbed", False) for s in ran] == [True] * len(SETUP_AND_TESTS) + [False] * 8
    assert set(statuses(trace).values()) == {"SUCCESS"}
    # Each stage that calls AWS got exactly its credential, and the others none.
    assert {s["where"]: s["credentials"] for s in ran if s["credentials"]} == {
        "Gate": ["sentiment-api-registry-read-dev"],
        **{stage: ["sentiment-api-aws-dev"] for stage in ("Provision", "Deploy", "Smoke")},
        "Build": ["sentiment-api-aws-dev", "sentiment-api-image-signing-key-dev"],
        "Publish": ["sentiment-api-aws-dev", "sentiment-api-model-signing-key-dev"],
    }
    assert [s["stage"] for s in times["stages"]][-1] == "Smoke" and times["lead_time_s"] > 0
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
    build = local_build(jenkinsfile=str(broken), artifacts=str(tmp_path / "artifacts"))
    (trace,) = run([build], env=agent_environment())
    assert shell(trace) == [*SETUP_AND_TESTS, "$PY -m pipeline.trian"]
    failed = steps(trace, "sh")[-1]
    assert failed["exit"] == 1 and "No module named pipeline.trian" in failed["tail"][-1], failed["tail"]
    assert statuses(trace)["Train"] == "FAILURE" and statuses(trace)["Smoke"] == "skipped: earlier failure"
    assert trace["post"] == ["always", "failure"] and trace["result"] == "FAILURE"


GATE_BINDING = (
    'withCredentials([usernamePassword(credentialsId: "sentiment-api-registry-read-${params.ENV}", '
    # pragma: allowlist nextline secret (test data, not a credential)
    "usernameVariable: 'AWS_ACCESS_KEY_ID', passwordVariable: 'AWS_SECRET_ACCESS_KEY')]) {\n"
)


@pytest.mark.slow
def test_a_stage_without_its_credential_fails_in_the_aws_like_mode(local_environment, tmp_path):
    """A branch build (Train, Gate) of the real Jenkinsfile passes: Gate reads the registry with the read-only
    key it binds. The same with Gate's binding removed fails at Gate, with one line, before Provision."""
    broken = tmp_path / "Jenkinsfile"
    broken.write_text(JENKINSFILE.read_text().replace(GATE_BINDING, "script {\n"))
    artifacts = local_environment["ARTIFACTS_DIR"]
    real = local_build(branch="feature/x", artifacts=artifacts)
    # The broken file's Train is stubbed: the real build's candidate, in the same ARTIFACTS_DIR, is gated.
    without = local_build(jenkinsfile=str(broken), branch="feature/x", artifacts=artifacts)
    without["sh"] = [*without["sh"], {"match": "-m pipeline.train", "exit": 0}]
    passed, failed = run([real, without], timeout=1800, env=local_environment)

    assert passed["result"] == "SUCCESS", [s.get("tail") for s in steps(passed, "sh")[-2:]]
    gate = steps(passed, "sh")[-1]
    assert gate["where"] == "Gate" and gate["credentials"] == ["sentiment-api-registry-read-dev"]
    assert failed["result"] == "FAILURE" and statuses(failed)["Gate"] == "FAILURE"
    gate = steps(failed, "sh")[-1]
    assert gate["credentials"] == [] and gate["exit"] == 2
    assert "no AWS credentials bound for this stage" in gate["tail"][-1], gate["tail"]
