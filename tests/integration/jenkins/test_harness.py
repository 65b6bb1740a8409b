"""The harness itself: it refuses what Jenkins refuses before any step runs, and models the semantics its
header cites (post order, results, input, junit, credentials and masking), on small Jenkinsfiles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jenkins_harness import JENKINSFILE, run, run_source, scenario, shell, statuses, steps

SOURCE = JENKINSFILE.read_text()

# Each edit makes the real Jenkinsfile one that Jenkins refuses when the run starts.
REFUSED = {
    "unknown step": (lambda s: s.replace("sh '.venv/bin/lint-imports'", "shell '.venv/bin/lint-imports'"), "shell"),
    "unknown step in script": (lambda s: s.replace("input(message:", "inptu(message:"), "inptu"),
    "unknown step in post": (lambda s: s.replace("echo 'Released", "ech 'Released"), "ech"),
    "unknown section": (lambda s: s.replace("    triggers {", "    trigers {"), "trigers"),
    "unknown option": (lambda s: s.replace("timestamps()", "timestamp()"), "timestamp"),
    "unknown trigger": (lambda s: s.replace("githubPush()", "githubPushed()"), "githubPushed"),
    "unknown post condition": (lambda s: s.replace("failure {", "failed {"), "failed"),
    "unknown when condition": (lambda s: s.replace("when { branch 'main' }", "when { brnch 'main' }", 1), "brnch"),
    "missing agent": (lambda s: s.replace("agent { label 'sentiment-api' }", ""), "agent"),
    "duplicate stage": (lambda s: s.replace("stage('Gate')", "stage('Train')"), "Duplicate stage name"),
    "stage without steps": (
        lambda s: s.replace("steps {\n                sh 'bash .ci/setup'\n            }", ""),
        "Nothing to execute",
    ),
    "step outside steps": (
        lambda s: s.replace("steps {\n                sh 'bash .ci/setup'\n            }", "sh 'bash .ci/setup'"),
        "unknown section 'sh'",
    ),
    "syntax error": (lambda s: s.replace("stages {", "stages {{", 1), "syntax"),
    "two agents": (lambda s: s.replace("    options {", "    agent any\n    options {"), "multiple"),
    "unknown parameter type": (lambda s: s.replace("booleanParam(", "boolParam("), "boolParam"),
}


@pytest.fixture(scope="module")
def refused(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("refused")
    scenarios = []
    for name, (edit, _) in REFUSED.items():
        mutated = edit(SOURCE)
        assert mutated != SOURCE, f"{name}: the edit did not apply"
        path = root / name.replace(" ", "-")
        path.write_text(mutated)
        scenarios.append(scenario(jenkinsfile=str(path)))
    return dict(zip(REFUSED, run(scenarios), strict=True))


def test_the_real_jenkinsfile_is_accepted():
    trace = run([scenario()])[0]
    assert trace["refused"] is None
    assert trace["result"] == "SUCCESS"
    assert trace["agent"] == {"label": "sentiment-api"}
    assert trace["triggers"] == ["githubPush"]
    assert set(trace["options"]) == {"timestamps", "timeout", "disableConcurrentBuilds", "buildDiscarder"}
    assert [p["name"] for p in trace["parameters"]] == ["ENV", "SKIP_TRAIN", "DEPLOY_MODEL_VERSION", "RETRAIN_REASON"]


@pytest.mark.parametrize("name", REFUSED)
def test_refused_before_any_step_runs(refused, name):
    trace = refused[name]
    assert trace["refused"], f"{name} was not refused"
    assert REFUSED[name][1].lower() in trace["refused"].lower(), trace["refused"]
    assert trace["steps"] == [] and trace["stages"] == [] and trace["post"] == []


POST_ORDER = """
pipeline {
    agent any
    stages {
        stage('Only') { steps { sh 'exit-code-from-the-scenario' } }
    }
    post {
        cleanup { echo 'cleanup' }
        unsuccessful { echo 'unsuccessful' }
        unstable { echo 'unstable' }
        success { echo 'success' }
        failure { echo 'failure' }
        aborted { echo 'aborted' }
        always { echo 'always' }
    }
}
"""


def test_post_conditions_run_in_jenkins_order_whatever_the_file_order(tmp_path):
    ok = run_source(POST_ORDER, tmp_path)
    assert ok["post"] == ["always", "success", "cleanup"]
    failed = run_source(POST_ORDER, tmp_path, sh=[{"match": "exit-code", "exit": 1}])
    assert failed["result"] == "FAILURE"
    assert failed["post"] == ["always", "failure", "unsuccessful", "cleanup"]
    assert [e["message"] for e in steps(failed, "echo")] == failed["post"]
    unstable = run_source(
        POST_ORDER.replace("sh 'exit-code-from-the-scenario'", "junit 'r.xml'"),
        tmp_path,
        junit={"tests": 2, "failures": 1},
    )
    assert unstable["result"] == "UNSTABLE"
    assert unstable["post"] == ["always", "unstable", "unsuccessful", "cleanup"]
    aborted = run_source(
        POST_ORDER.replace("sh 'exit-code-from-the-scenario'", "input 'Go?'"), tmp_path, input=["abort"]
    )
    assert aborted["result"] == "ABORTED"
    assert aborted["post"] == ["always", "aborted", "unsuccessful", "cleanup"]


RESULTS = """
pipeline {
    agent any
    environment { TOKEN = credentials('token') }
    stages {
        stage('A') { steps { junit allowEmptyResults: true, testResults: 'a.xml' } }
        stage('B') { steps { sh 'echo $TOKEN_USR' } }
        stage('C') { steps { sh "curl -u ${env.TOKEN}" } }
        stage('D') { steps { error 'stop' } }
        stage('E') { steps { sh 'never' } }
    }
}
"""


def test_results_credentials_in_environment_masking_and_interpolation(tmp_path):
    # pragma: allowlist nextline secret (test data, not a credential)
    creds = {"token": {"type": "usernamePassword", "username": "robot", "password": "hunter2", "usernameSecret": False}}
    trace = run_source(RESULTS, tmp_path, credentials=creds, junit={"tests": 1, "failures": 1})
    # UNSTABLE does not stop later stages; an error does, and the result only gets worse.
    assert statuses(trace) == {
        "A": "UNSTABLE",
        "B": "SUCCESS",
        "C": "SUCCESS",
        "D": "FAILURE",
        "E": "skipped: earlier failure",
    }
    assert trace["result"] == "FAILURE"
    assert shell(trace) == ["echo $TOKEN_USR", "curl -u robot:****"]
    b = steps(trace, "sh")[0]
    assert b["env"]["TOKEN"] == "robot:****" and b["env"]["TOKEN_USR"] == "robot" and b["env"]["TOKEN_PSW"] == "****"
    assert steps(trace, "sh")[1]["interpolated"] is True
    assert any("Groovy String interpolation" in w for w in trace["warnings"])
    assert "hunter2" not in json.dumps(trace)


def test_empty_junit_fails_the_build_unless_allowed(tmp_path):
    source = POST_ORDER.replace("sh 'exit-code-from-the-scenario'", "junit 'r.xml'")
    assert run_source(source, tmp_path, junit=None)["result"] == "FAILURE"
    allowed = source.replace("junit 'r.xml'", "junit allowEmptyResults: true, testResults: 'r.xml'")
    assert run_source(allowed, tmp_path, junit=None)["result"] == "SUCCESS"


def test_branch_globs(tmp_path):
    source = """
pipeline {
    agent any
    stages {
        stage('Release') { when { anyOf { branch 'release/*'; branch 'main' } }; steps { sh 'release' } }
        stage('Not main') { when { not { branch 'main' } }; steps { sh 'feature' } }
    }
}
"""
    path = Path(tmp_path) / "Jenkinsfile"
    path.write_text(source)
    traces = run([scenario(jenkinsfile=str(path), branch=b) for b in ("main", "release/1.2", "release/1/2", "dev")])
    assert [shell(t) for t in traces] == [["release"], ["release", "feature"], ["feature"], ["feature"]]


PARALLEL = """
pipeline {
    agent any
    stages {
        stage('First') { steps { sh 'first' } }
        stage('Both') {
            failFast true
            parallel {
                stage('Left') { steps { sh 'left' } }
                stage('Right') {
                    environment { SIDE = 'right' }
                    stages {
                        stage('Right 1') { steps { sh 'right-1' } }
                        stage('Right 2') { steps { sh 'right-2' } }
                    }
                }
            }
        }
        stage('Last') { steps { sh 'last' } }
    }
}
"""


def test_parallel_branches_fail_fast_and_gate_what_follows(tmp_path):
    ok = run_source(PARALLEL, tmp_path)
    assert shell(ok) == ["first", "left", "right-1", "right-2", "last"]
    assert set(statuses(ok).values()) == {"SUCCESS"}
    assert [s["env"].get("SIDE") for s in steps(ok, "sh")] == [None, None, "right", "right", None]
    assert all(s["endedMs"] >= s["startedMs"] for s in ok["stages"])

    left = run_source(PARALLEL, tmp_path, sh=[{"match": "left", "exit": 1}])
    assert shell(left) == ["first", "left"]
    assert statuses(left) == {
        "First": "SUCCESS",
        "Both": "FAILURE",
        "Left": "FAILURE",
        "Right": "aborted: failFast",
        "Right 1": "aborted: failFast",
        "Right 2": "aborted: failFast",
        "Last": "skipped: earlier failure",
    }
    assert left["result"] == "FAILURE"

    # Another finishing order: Right's first stage fails, Left never started; without failFast Left runs on.
    order = {"parallelOrder": {"Both": ["Right", "Left"]}, "sh": [{"match": "right-1", "exit": 1}]}
    right = run_source(PARALLEL, tmp_path, **order)
    assert shell(right) == ["first", "right-1"]
    assert [statuses(right)[s] for s in ("Right 2", "Left", "Last")] == [
        "skipped: earlier failure",
        "aborted: failFast",
        "skipped: earlier failure",
    ]
    slow = run_source(PARALLEL.replace("failFast true", ""), tmp_path, **order)
    assert shell(slow) == ["first", "right-1", "left"]
    assert statuses(slow)["Left"] == "SUCCESS" and statuses(slow)["Last"] == "skipped: earlier failure"
    assert slow["result"] == "FAILURE"


@pytest.mark.parametrize(
    ("edit", "refusal"),
    [
        (
            lambda s: s.replace(
                "stage('Left') { steps { sh 'left' } }",
                "stage('Left') { parallel { stage('In') { steps { sh 'x' } } } }",
            ),
            "parallel of its own",
        ),
        (lambda s: s.replace("failFast true", "failFast true\n steps { sh 'also' }"), "only one of"),
        (lambda s: s.replace("stage('Right 2')", "stage('Left')"), "Duplicate stage name"),
        (
            lambda s: s.replace(
                "stage('First') { steps { sh 'first' } }", "stage('First') { failFast true; steps { sh 'first' } }"
            ),
            "failFast without parallel",
        ),
    ],
    ids=["nested parallel", "steps beside parallel", "duplicate name in a branch", "failFast without parallel"],
)
def test_parallel_structure_refused_as_jenkins_does(tmp_path, edit, refusal):
    trace = run_source(edit(PARALLEL), tmp_path)
    assert refusal in (trace["refused"] or ""), trace["refused"]
