"""The real Jenkinsfile, executed by the harness in plan mode (sh recorded, exit codes scripted per scenario).

Each scenario's check asserts the exact sh sequence, the environment each step saw and the post blocks that
ran. The checks are plain functions so that test_mutations can run them against broken Jenkinsfiles too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from jenkins_harness import (
    CREDENTIALS,
    JENKINSFILE,
    deploy_credential,
    image_signing_key_credential,
    registry_read_credential,
    run,
    scenario,
    shell,
    signing_key_credential,
    statuses,
    steps,
)

SETUP_AND_UNIT = [
    "bash .ci/setup",
    ".venv/bin/ruff check .",
    ".venv/bin/lint-imports",
    "bash .ci/lint-jenkinsfiles",
    "NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet",
    "$PY -m pytest tests/unit --junitxml=artifacts/reports/unit-tests.xml"
    " --cov --cov-report=xml:artifacts/reports/coverage.xml",
]
INTEGRATION = [
    "$PY -m pytest tests/integration -n auto --dist loadfile --junitxml=artifacts/reports/integration-tests.xml"
]
SETUP_AND_TESTS = SETUP_AND_UNIT + INTEGRATION
TRAIN_AND_GATE = ["$PY -m pipeline.train", "$PY -m pipeline.gate"]
RELEASE = [
    "$PY -m pipeline.provision",
    "$PY -m pipeline.publish",
    "$PY -m pipeline.build",
    "$PY -m pipeline.deploy --plan-only",
    "$PY -m pipeline.deploy --apply-plan",
    "$PY -m pipeline.smoke",
]
REDEPLOY = [
    "$PY -m pipeline.provision",
    '$PY -m pipeline.build --model-version "$DEPLOY_MODEL_VERSION"',
    '$PY -m pipeline.deploy --plan-only --model-version "$DEPLOY_MODEL_VERSION"',
    "$PY -m pipeline.deploy --apply-plan",
    "$PY -m pipeline.smoke",
]
MAIN_ONLY = ["Provision", "Publish", "Build", "Deploy", "Smoke"]
# The stages that call AWS, each with the credential it needs for ENV: read-only for Gate, the deploy identity
# (writes) for the release stages.
NEEDS = {"Gate": registry_read_credential, **dict.fromkeys(MAIN_ONLY, deploy_credential)}
AWS = {"AWS_ACCESS_KEY_ID": "****", "AWS_SECRET_ACCESS_KEY": "****"}
# The stages that sign also get their signing key (a Secret file: its path, masked): Publish the model
# signing key, Build the image signing key; no other stage gets either.
SIGNS = {"Publish": {"MODEL_SIGNING_KEY_FILE": "****"}, "Build": {"IMAGE_SIGNING_KEY_FILE": "****"}}
SIGNING_KEY = {"Publish": signing_key_credential, "Build": image_signing_key_credential}


def bound_env(where: str) -> dict:
    """The masked variables the credentials bound around a step in stage `where` add to its environment."""
    return {**AWS, **SIGNS.get(where, {})} if where in NEEDS else {}


INJECTION = "x; touch /tmp/pwned"


def base_env(branch: str = "main", env: str = "dev", skip: bool = False, version: str = "champion") -> dict:
    """What Jenkins puts in every step's environment: job variables, the parameters as strings, `environment`."""
    return {
        "BRANCH_NAME": branch,
        "BUILD_NUMBER": "1",
        "JOB_NAME": f"sentiment-api/{branch}",
        "ENV": env,
        "SKIP_TRAIN": "true" if skip else "false",
        "DEPLOY_MODEL_VERSION": version,
        "RETRAIN_REASON": "",
        "PROJECT_ENV": env,
        "PY": ".venv/bin/python",
    }


def assert_envs(trace: dict, **base) -> None:
    """Every sh step saw the base environment, plus the masked AWS keys exactly in the stages that call AWS,
    bound from exactly the credential that stage needs for ENV (and no other)."""
    expected = base_env(**base)
    for step in steps(trace, "sh"):
        want = {**expected, **bound_env(step["where"])}
        assert step["env"] == want, f"{step['where']}: {step['script']}"
        assert_bound(step, expected["ENV"])


def assert_bound(step: dict, env: str) -> None:
    needs = NEEDS.get(step["where"])
    want = [needs(env)] if needs else []
    if step["where"] in SIGNING_KEY:
        want.append(SIGNING_KEY[step["where"]](env))
    assert step["credentials"] == want, f"{step['where']} bound {step['credentials']}, needs {want}"


def assert_common(trace: dict) -> None:
    """True of every build: accepted, no Groovy-interpolated sh text, no secret anywhere in the trace."""
    assert trace["refused"] is None, trace["refused"]
    assert not any(s["interpolated"] for s in steps(trace, "sh")), "a sh step's text was built by interpolation"
    text = json.dumps(trace)
    for credential in CREDENTIALS.values():
        for value in (credential.get("password"), credential.get("username"), credential.get("secret")):
            assert value is None or value not in text


def assert_reports_published(trace: dict) -> None:
    where = {s["step"]: s for s in trace["steps"] if s["where"] == "post:always"}
    assert where["junit"]["testResults"] == "artifacts/reports/*.xml"
    assert where["archiveArtifacts"]["artifacts"].startswith("artifacts/**/*.json, artifacts/reports/*.html")
    pages = {s["reportFiles"]: s for s in trace["steps"] if s["step"] == "publishHTML" and s["where"] == "post:always"}
    assert set(pages) == {"model.html", "delivery.html"}, "the model and delivery reports are published on every build"
    assert all(p["reportDir"] == "artifacts/reports" and p["allowMissing"] for p in pages.values())


def check_push_to_main(trace: dict) -> None:
    assert_common(trace)
    assert shell(trace) == SETUP_AND_TESTS + TRAIN_AND_GATE + RELEASE
    assert_envs(trace)
    assert set(statuses(trace).values()) == {"SUCCESS"}
    assert steps(trace, "input") == []
    assert trace["credentialsUsed"] == [
        "sentiment-api-registry-read-dev",
        "sentiment-api-aws-dev",
        "sentiment-api-model-signing-key-dev",
        "sentiment-api-image-signing-key-dev",
    ]
    assert trace["post"] == ["always", "success"]
    assert_reports_published(trace)
    assert trace["result"] == "SUCCESS"


def check_feature_branch(trace: dict) -> None:
    assert_common(trace)
    assert shell(trace) == SETUP_AND_TESTS + TRAIN_AND_GATE
    assert_envs(trace, branch="feature/faster-tokenizer")
    assert [statuses(trace)[s] for s in MAIN_ONLY] == ["skipped: when"] * 5
    # A branch's build reads the registry for its Gate and holds no credential that writes.
    assert trace["credentialsUsed"] == ["sentiment-api-registry-read-dev"]
    assert trace["post"] == ["always", "success"]
    assert trace["result"] == "SUCCESS"


def deploy_steps(trace: dict) -> list[tuple[str, str]]:
    return [(s["step"], s.get("script", s.get("answer"))) for s in trace["steps"] if s["where"] == "Deploy"]


def check_prod_approved(trace: dict) -> None:
    assert_common(trace)
    assert shell(trace) == SETUP_AND_TESTS + TRAIN_AND_GATE + RELEASE
    # After the approval every step sees APPROVER (the input's submitterParameter): smoke records it with the promotion.
    approved = False
    for step in steps(trace, "sh"):
        approved = approved or step["script"] == "$PY -m pipeline.deploy --apply-plan"
        want = {**base_env(env="prod"), **bound_env(step["where"])}
        assert step["env"] == {**want, **({"APPROVER": "release-approver"} if approved else {})}, step["script"]
        assert_bound(step, "prod")
    # The approval comes between the saved plan and its apply, with no credential bound while a person decides.
    assert deploy_steps(trace) == [
        ("sh", "$PY -m pipeline.deploy --plan-only"),
        ("input", "proceed"),
        ("sh", "$PY -m pipeline.deploy --apply-plan"),
    ]
    assert steps(trace, "input")[0]["env"] == base_env(env="prod")
    assert trace["credentialsUsed"] == [
        "sentiment-api-registry-read-prod",
        "sentiment-api-aws-prod",
        "sentiment-api-model-signing-key-prod",
        "sentiment-api-image-signing-key-prod",
    ]
    assert trace["post"] == ["always", "success"]
    assert trace["result"] == "SUCCESS"


def check_prod_aborted(trace: dict) -> None:
    assert_common(trace)
    assert shell(trace) == SETUP_AND_TESTS + TRAIN_AND_GATE + RELEASE[:4]
    assert_envs(trace, env="prod")
    assert deploy_steps(trace) == [("sh", "$PY -m pipeline.deploy --plan-only"), ("input", "abort"), ("aborted", None)]
    assert statuses(trace)["Deploy"] == "ABORTED"
    assert statuses(trace)["Smoke"] == "skipped: earlier failure"
    assert trace["post"] == ["always"]
    assert_reports_published(trace)
    assert trace["result"] == "ABORTED"


def check_skip_train(trace: dict) -> None:
    assert_common(trace)
    assert shell(trace) == SETUP_AND_TESTS + REDEPLOY
    assert_envs(trace, skip=True)
    assert {s: statuses(trace)[s] for s in ("Model", "Train", "Gate", "Publish")} == dict.fromkeys(
        ("Model", "Train", "Gate", "Publish"), "skipped: when"
    )
    assert statuses(trace)["Integration tests"] == "SUCCESS"
    assert trace["post"] == ["always", "success"]
    assert trace["result"] == "SUCCESS"


def check_gate_fails(trace: dict) -> None:
    assert_common(trace)
    assert shell(trace) == SETUP_AND_TESTS + TRAIN_AND_GATE
    assert [s["exit"] for s in steps(trace, "sh")] == [0] * (len(SETUP_AND_TESTS) + 1) + [1]
    assert_envs(trace)
    assert statuses(trace)["Gate"] == "FAILURE"
    assert [statuses(trace)[s] for s in MAIN_ONLY] == ["skipped: earlier failure"] * 5
    assert trace["credentialsUsed"] == ["sentiment-api-registry-read-dev"]
    assert trace["post"] == ["always", "failure"]
    assert_reports_published(trace)
    assert trace["result"] == "FAILURE"


def check_credential_missing(trace: dict) -> None:
    assert_common(trace)
    assert shell(trace) == SETUP_AND_TESTS + TRAIN_AND_GATE
    assert_envs(trace, env="qa")
    failed = steps(trace, "failed")
    assert [(f["where"], f["message"]) for f in failed] == [
        ("Provision", "Could not find credentials entry with ID 'sentiment-api-aws-qa'")
    ]
    assert statuses(trace)["Provision"] == "FAILURE"
    assert [statuses(trace)[s] for s in MAIN_ONLY[1:]] == ["skipped: earlier failure"] * 4
    assert trace["post"] == ["always", "failure"]
    assert trace["result"] == "FAILURE"


def check_injection_is_data(trace: dict) -> None:
    assert_common(trace)
    assert shell(trace) == SETUP_AND_TESTS + REDEPLOY
    assert not any("pwned" in s for s in shell(trace))
    assert_envs(trace, skip=True, version=INJECTION)
    assert trace["result"] == "SUCCESS"


def check_failed_tests_in_a_report(trace: dict) -> None:
    """Every stage passed but a published report holds a failed case: UNSTABLE, and no "Released" message."""
    assert_common(trace)
    assert shell(trace) == SETUP_AND_TESTS + TRAIN_AND_GATE + RELEASE
    assert set(statuses(trace).values()) == {"SUCCESS"}
    assert trace["post"] == ["always"]
    assert steps(trace, "echo") == []
    assert trace["result"] == "UNSTABLE"


def check_unit_test_fails(trace: dict) -> None:
    """A failing unit test stops the build before the parallel stage: no integration tier, no Train."""
    assert_common(trace)
    assert shell(trace) == SETUP_AND_UNIT
    assert statuses(trace)["Lint and unit tests"] == "FAILURE"
    later = ["Integration tests and model", "Integration tests", "Model", "Train", "Gate", *MAIN_ONLY]
    assert [statuses(trace)[s] for s in later] == ["skipped: earlier failure"] * len(later)
    assert trace["credentialsUsed"] == []
    assert trace["post"] == ["always", "failure"]
    assert_reports_published(trace)
    assert trace["result"] == "FAILURE"


def check_integration_fails_first(trace: dict) -> None:
    """The integration tier fails while Train is running: failFast stops Train -> Gate, nothing is released."""
    assert_common(trace)
    assert shell(trace) == SETUP_AND_TESTS
    assert statuses(trace)["Integration tests"] == "FAILURE"
    assert [statuses(trace)[s] for s in ("Model", "Train", "Gate")] == ["aborted: failFast"] * 3
    assert [statuses(trace)[s] for s in MAIN_ONLY] == ["skipped: earlier failure"] * 5
    assert trace["credentialsUsed"] == []
    assert trace["post"] == ["always", "failure"]
    assert trace["result"] == "FAILURE"


def check_integration_fails_after_the_gate(trace: dict) -> None:
    """Train -> Gate passed before the integration tier failed: still nothing from Provision on."""
    assert_common(trace)
    assert shell(trace) == SETUP_AND_UNIT + TRAIN_AND_GATE + INTEGRATION
    assert_envs(trace)
    assert [statuses(trace)[s] for s in ("Train", "Gate", "Integration tests")] == ["SUCCESS", "SUCCESS", "FAILURE"]
    assert [statuses(trace)[s] for s in MAIN_ONLY] == ["skipped: earlier failure"] * 5
    assert "sentiment-api-aws-dev" not in trace["credentialsUsed"]
    assert trace["post"] == ["always", "failure"]
    assert trace["result"] == "FAILURE"


def check_gate_fails_with_the_tests_still_running(trace: dict) -> None:
    """Gate fails first: failFast stops the integration tier too."""
    assert_common(trace)
    assert shell(trace) == SETUP_AND_UNIT + TRAIN_AND_GATE
    assert statuses(trace)["Gate"] == "FAILURE" and statuses(trace)["Integration tests"] == "aborted: failFast"
    assert [statuses(trace)[s] for s in MAIN_ONLY] == ["skipped: earlier failure"] * 5
    assert trace["result"] == "FAILURE"


def check_registry_read_credential_missing(trace: dict) -> None:
    """No read credential for the environment: Gate fails at the binding, before it runs anything."""
    assert_common(trace)
    assert shell(trace) == SETUP_AND_TESTS + TRAIN_AND_GATE[:1]
    failed = steps(trace, "failed")
    assert [(f["where"], f["message"]) for f in failed] == [
        ("Gate", "Could not find credentials entry with ID 'sentiment-api-registry-read-qa'")
    ]
    assert [statuses(trace)[s] for s in MAIN_ONLY] == ["skipped: earlier failure"] * 5
    assert trace["result"] == "FAILURE"


SCENARIOS: dict[str, tuple[dict, Callable[[dict], None]]] = {
    "push to main, ENV=dev": ({}, check_push_to_main),
    "push to a feature branch": ({"branch": "feature/faster-tokenizer"}, check_feature_branch),
    "prod, approved": ({"params": {"ENV": "prod"}, "input": ["proceed"]}, check_prod_approved),
    "prod, aborted": ({"params": {"ENV": "prod"}, "input": ["abort"]}, check_prod_aborted),
    "SKIP_TRAIN with champion": (
        {"params": {"SKIP_TRAIN": True, "DEPLOY_MODEL_VERSION": "champion"}},
        check_skip_train,
    ),
    "gate fails": ({"sh": [{"match": "-m pipeline.gate", "exit": 1}]}, check_gate_fails),
    "credential missing": (
        {"params": {"ENV": "qa"}, "credentials": {k: v for k, v in CREDENTIALS.items() if k != "sentiment-api-aws-qa"}},
        check_credential_missing,
    ),
    "a report with failed tests": ({"junit": {"tests": 10, "failures": 1}}, check_failed_tests_in_a_report),
    "a unit test fails": ({"sh": [{"match": "pytest tests/unit", "exit": 1}]}, check_unit_test_fails),
    "an integration test fails while Train runs": (
        {"sh": [{"match": "pytest tests/integration", "exit": 1}]},
        check_integration_fails_first,
    ),
    "an integration test fails after the gate passed": (
        {
            "sh": [{"match": "pytest tests/integration", "exit": 1}],
            "parallelOrder": {"Integration tests and model": ["Model", "Integration tests"]},
        },
        check_integration_fails_after_the_gate,
    ),
    "the gate fails while the integration tier runs": (
        {
            "sh": [{"match": "-m pipeline.gate", "exit": 1}],
            "parallelOrder": {"Integration tests and model": ["Model", "Integration tests"]},
        },
        check_gate_fails_with_the_tests_still_running,
    ),
    "registry read credential missing": (
        {
            "params": {"ENV": "qa"},
            "credentials": {k: v for k, v in CREDENTIALS.items() if k != "sentiment-api-registry-read-qa"},
        },
        check_registry_read_credential_missing,
    ),
    "injection in DEPLOY_MODEL_VERSION": (
        {"params": {"SKIP_TRAIN": True, "DEPLOY_MODEL_VERSION": INJECTION}},
        check_injection_is_data,
    ),
}


def run_all(jenkinsfile: Path) -> dict[str, dict]:
    """Every scenario over one Jenkinsfile, in one groovy process."""
    traces = run([scenario(jenkinsfile=str(jenkinsfile), **spec) for spec, _ in SCENARIOS.values()])
    return dict(zip(SCENARIOS, traces, strict=True))


def failing_checks(traces: dict[str, dict]) -> dict[str, str]:
    failed = {}
    for name, (_, check) in SCENARIOS.items():
        try:
            check(traces[name])
        except (AssertionError, KeyError, IndexError) as e:
            failed[name] = str(e).splitlines()[0] if str(e) else type(e).__name__
    return failed


@pytest.fixture(scope="module")
def traces() -> dict[str, dict]:
    return run_all(JENKINSFILE)


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(traces, name):
    SCENARIOS[name][1](traces[name])


def test_the_injected_version_reaches_the_program_as_one_argument(traces, tmp_path):
    """Run the recorded build and deploy commands in a real shell, with the environment they saw and PY a stub
    that prints its arguments: the parameter arrives whole, as data, and nothing else runs."""
    stub = tmp_path / "argv"
    stub.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    stub.chmod(0o755)
    pwned_before = Path("/tmp/pwned").exists()
    commands = [s for s in steps(traces["injection in DEPLOY_MODEL_VERSION"], "sh") if "--model-version" in s["script"]]
    assert len(commands) == 2
    for step in commands:
        env = {**step["env"], "PY": str(stub), "PATH": os.environ["PATH"]}
        out = subprocess.run(["sh", "-ec", step["script"]], env=env, cwd=tmp_path, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        argv = json.loads(out.stdout)
        assert argv[-2:] == ["--model-version", INJECTION]
    assert Path("/tmp/pwned").exists() == pwned_before
    assert not list(tmp_path.glob("pwned"))


def _stage(name: str) -> str:
    return f"stage('{name}') {{\n"


# Each edit breaks the Jenkinsfile in a way that every syntax-tree check could miss; each must fail at least
# the named scenario (and so a non-slow test). The harness runs them all in one groovy process.
MODEL_WHEN = "                    when { expression { !params.SKIP_TRAIN } }\n"
GATE_BINDING = (
    'withCredentials([usernamePassword(credentialsId: "sentiment-api-registry-read-${params.ENV}", '
    # pragma: allowlist nextline secret (test data, not a credential)
    "usernameVariable: 'AWS_ACCESS_KEY_ID', passwordVariable: 'AWS_SECRET_ACCESS_KEY')]) {\n"
)
APPROVAL = "input(message: 'Apply the saved Terraform plan to prod?', ok: 'Apply', submitterParameter: 'APPROVER')"
MUTATIONS: dict[str, tuple[Callable[[str], str], str]] = {
    "Deploy no longer limited to main": (
        lambda s: s.replace(_stage("Deploy") + "            when { branch 'main' }\n", _stage("Deploy")),
        "push to a feature branch",
    ),
    "prod approval removed": (
        lambda s: s.replace(APPROVAL, "'nobody'"),
        "prod, approved",
    ),
    "prod approval inside the credentials binding": (
        lambda s: s.replace(
            "sh '$PY -m pipeline.deploy --plan-only'\n",
            "sh '$PY -m pipeline.deploy --plan-only'\n"
            "                            if (params.ENV == 'prod') { input message: 'Apply?', ok: 'Apply' }\n",
        ).replace(APPROVAL, "'nobody'"),
        "prod, approved",
    ),
    "Train runs when SKIP_TRAIN is true": (
        lambda s: s.replace(_stage("Model") + MODEL_WHEN, _stage("Model")),
        "SKIP_TRAIN with champion",
    ),
    "Train and Gate run when SKIP_TRAIN is true (boolean compared with a string)": (
        lambda s: s.replace(MODEL_WHEN, MODEL_WHEN.replace("!params.SKIP_TRAIN", "params.SKIP_TRAIN != 'true'")),
        "SKIP_TRAIN with champion",
    ),
    "--apply-plan step removed": (
        lambda s: s.replace("sh '$PY -m pipeline.deploy --apply-plan'", "echo 'applied'"),
        "push to main, ENV=dev",
    ),
    "parameter interpolated into the shell text": (
        lambda s: s.replace(
            """sh '$PY -m pipeline.build --model-version "$DEPLOY_MODEL_VERSION"'""",
            """sh "\\$PY -m pipeline.build --model-version ${params.DEPLOY_MODEL_VERSION}\"""",
        ),
        "injection in DEPLOY_MODEL_VERSION",
    ),
    "gate failure swallowed": (
        lambda s: s.replace("sh '$PY -m pipeline.gate'", "sh '$PY -m pipeline.gate || true'"),
        "gate fails",
    ),
    "Smoke bound to the dev credential whatever ENV": (
        lambda s: s.replace(
            "credentialsId: \"sentiment-api-aws-${params.ENV}\", usernameVariable: 'AWS_ACCESS_KEY_ID', "
            # pragma: allowlist nextline secret (test data, not a credential)
            "passwordVariable: 'AWS_SECRET_ACCESS_KEY')]) {\n                    sh '$PY -m pipeline.smoke'",
            "credentialsId: 'sentiment-api-aws-dev', usernameVariable: 'AWS_ACCESS_KEY_ID', "
            # pragma: allowlist nextline secret (test data, not a credential)
            "passwordVariable: 'AWS_SECRET_ACCESS_KEY')]) {\n                    sh '$PY -m pipeline.smoke'",
        ),
        "prod, approved",
    ),
    "no failFast: Train and Gate run on after the integration tier failed": (
        lambda s: s.replace("failFast true\n", ""),
        "an integration test fails while Train runs",
    ),
    "the integration tier after the release": (
        lambda s: s.replace(
            "stage('Integration tests') {", "stage('Integration tests') {\n when { branch 'never' }"
        ).replace(
            "stage('Smoke') {",
            "stage('Integration tier') {\n steps { sh '" + INTEGRATION[0] + "' } }\n stage('Smoke') {",
        ),
        "an integration test fails after the gate passed",
    ),
    "the unit tier inside the parallel stage": (
        lambda s: s.replace(f"                sh '{SETUP_AND_UNIT[-1]}'\n", "").replace(
            "sh '$PY -m pytest tests/integration", f"sh '{SETUP_AND_UNIT[-1]}'\n sh '$PY -m pytest tests/integration"
        ),
        "a unit test fails",
    ),
    "Gate without its read credential": (
        lambda s: s.replace(GATE_BINDING, "script {\n"),
        "push to main, ENV=dev",
    ),
    "Gate bound to the deploy credential": (
        lambda s: s.replace("sentiment-api-registry-read-${params.ENV}", "sentiment-api-aws-${params.ENV}"),
        "push to a feature branch",
    ),
    "post failure block removed": (
        lambda s: s.replace(
            "        failure {\n            echo 'Failed", "        unsuccessful {\n            echo 'Failed"
        ),
        "prod, aborted",
    ),
}


@pytest.fixture(scope="module")
def mutated_traces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict]]:
    source = JENKINSFILE.read_text()
    root = tmp_path_factory.mktemp("mutants")
    batch = []
    for index, (name, (edit, _)) in enumerate(MUTATIONS.items()):
        mutated = edit(source)
        assert mutated != source, f"{name}: the edit did not apply"
        path = root / f"Jenkinsfile.{index}"
        path.write_text(mutated)
        batch += [scenario(jenkinsfile=str(path), **spec) for spec, _ in SCENARIOS.values()]
    traces = iter(run(batch))
    return {name: {s: next(traces) for s in SCENARIOS} for name in MUTATIONS}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_broken_jenkinsfile_fails_a_scenario(mutated_traces, mutation):
    failed = failing_checks(mutated_traces[mutation])
    assert MUTATIONS[mutation][1] in failed, f"{mutation} went unnoticed by {MUTATIONS[mutation][1]}: {failed}"
