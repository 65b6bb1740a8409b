"""infra/jenkins/Jenkinsfile.monitor, executed by the harness in plan mode: the scheduled monitor per environment."""

from __future__ import annotations

import re

from jenkins_harness import (
    CREDENTIALS,
    JENKINSFILE,
    REPO,
    registry_read_credential,
    run,
    run_source,
    scenario,
    shell,
    statuses,
    steps,
)

MONITOR_JENKINSFILE = REPO / "infra" / "jenkins" / "Jenkinsfile.monitor"
ENVS = ("dev", "qa", "prod")
AWS = {"AWS_ACCESS_KEY_ID": "****", "AWS_SECRET_ACCESS_KEY": "****"}


def monitor_scenario(**overrides) -> dict:
    return scenario(**{"jenkinsfile": str(MONITOR_JENKINSFILE), "junit": {"tests": 10, "failures": 0}, **overrides})


def monitor_command(env: str) -> str:
    return f'$PY -m pipeline.monitor --cloudwatch --since "$WINDOW" > monitor-{env}.out 2>&1'


def exits(**codes: int) -> list[dict]:
    return [{"match": f"> monitor-{env}.out 2>&1", "exit": code} for env, code in codes.items()]


def drift_lines(env: str, names: str) -> dict:
    return {"match": f'grep "^DRIFT " monitor-{env}.out', "exit": 0, "stdout": names + "\n"}


def builds(trace: dict) -> list[dict]:
    return steps(trace, "build")


def test_healthy_environments_start_nothing_and_publish_the_reports():
    trace = run([monitor_scenario()])[0]
    assert trace["refused"] is None, trace["refused"]
    assert trace["result"] == "SUCCESS"
    assert statuses(trace) == dict.fromkeys(
        ["Setup", "Monitor dev", "Monitor qa", "Monitor prod", "Verdict"], "SUCCESS"
    )
    assert shell(trace) == ["bash .ci/setup"] + [
        script for env in ENVS for script in (monitor_command(env), f"cat monitor-{env}.out")
    ]
    assert builds(trace) == []
    junit = next(s for s in trace["steps"] if s["step"] == "junit")
    assert junit["testResults"] == "artifacts/*/reports/monitor.xml" and junit["where"] == "post:always"
    assert "cron(H/30 * * * *)" in trace["triggers"]


def test_each_monitor_sees_only_its_environments_credential_and_settings():
    trace = run([monitor_scenario()])[0]
    for env in ENVS:
        step = next(s for s in steps(trace, "sh") if s["script"] == monitor_command(env))
        assert step["env"]["PROJECT_ENV"] == env and step["env"]["ARTIFACTS_DIR"] == f"artifacts/{env}"
        assert {k: step["env"][k] for k in AWS} == AWS
        # It only reads (the registry's reference profile): the read-only credential, never the deploy identity.
        assert step["credentials"] == [registry_read_credential(env)], step["credentials"]
    for step in steps(trace, "sh"):
        if "pipeline.monitor" not in step["script"]:
            assert "AWS_ACCESS_KEY_ID" not in step["env"], step["script"]
    text = str(trace)
    for credential in CREDENTIALS.values():
        assert credential.get("password", credential.get("secret")) not in text


def test_drift_starts_the_main_job_for_that_environment_with_the_reason():
    sh = [*exits(qa=1), drift_lines("qa", "oov_share,score")]
    trace = run([monitor_scenario(sh=sh, junit={"tests": 10, "failures": 2})])[0]
    assert builds(trace) == [
        {
            "step": "build",
            "where": "Monitor qa",
            "job": "sentiment-api-release/sentiment-api/main",
            "parameters": [
                {"name": "ENV", "value": "qa"},
                {"name": "RETRAIN_REASON", "value": "monitor: drift in qa (oov_share,score)"},
            ],
            "wait": False,
            "propagate": True,
        }
    ]
    assert trace["result"] == "UNSTABLE"  # the failed checks in monitor.xml


def test_a_breach_without_drift_starts_no_retraining():
    trace = run([monitor_scenario(sh=[*exits(prod=1), drift_lines("prod", "")], junit={"tests": 10, "failures": 1})])[0]
    assert builds(trace) == [] and trace["result"] == "UNSTABLE"


def test_a_monitor_that_cannot_judge_fails_the_build_after_every_environment_was_tried():
    trace = run([monitor_scenario(sh=exits(dev=2))])[0]
    assert trace["result"] == "FAILURE"
    assert statuses(trace)["Monitor qa"] == "SUCCESS" and statuses(trace)["Monitor prod"] == "SUCCESS"
    assert statuses(trace)["Verdict"] == "FAILURE"
    assert any("could not judge dev" in s["message"] for s in steps(trace, "error"))
    assert any(s["step"] == "junit" for s in trace["steps"])  # post still publishes


def test_the_parameters_it_passes_exist_in_the_main_jenkinsfile():
    main = JENKINSFILE.read_text()
    passed = set(re.findall(r"string\(name: '(\w+)', value:", MONITOR_JENKINSFILE.read_text()))
    assert passed == {"ENV", "RETRAIN_REASON"}
    for name in passed:
        assert re.search(rf"(choice|string)\(name: '{name}'", main), name


def test_without_the_build_step_drift_would_go_unnoticed(tmp_path):
    # the drift check above fails on a copy that never starts the main job
    broken = MONITOR_JENKINSFILE.read_text().replace("build job: params.MAIN_JOB", "echo 'drift' //")
    trace = run_source(broken, tmp_path, sh=[*exits(qa=1), drift_lines("qa", "oov_share")], branch="main")
    assert trace["refused"] is None and builds(trace) == []
