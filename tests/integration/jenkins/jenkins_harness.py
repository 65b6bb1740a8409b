"""Runs harness/Harness.groovy beside this file (a declarative-pipeline harness; its header says what it models).

`run([scenario, ...])` evaluates each scenario's Jenkinsfile in one groovy process and returns one JSON trace
per scenario: {result, refused, stages: [{name, status}], steps: [{where, step, ...}], post, warnings, ...}.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
JENKINSFILE = REPO / "Jenkinsfile"
HARNESS = Path(__file__).resolve().parent / "harness" / "Harness.groovy"
ENVS = ("dev", "qa", "prod")


def fake_credential(name: str) -> dict:
    """A usernamePassword credential as the kit defines it (values are test data, not keys)."""
    return {
        "type": "usernamePassword",
        "username": f"key-id-of-{name}",
        "password": f"secret-key-of-{name}",
        "usernameSecret": True,
    }


def deploy_credential(env: str) -> str:
    """The id of env's deploy identity: writes (Provision, Publish, Build, Deploy, Smoke)."""
    return f"sentiment-api-aws-{env}"


def registry_read_credential(env: str) -> str:
    """The id of env's read-only registry identity (Gate's champion comparison, the monitor's profile)."""
    return f"sentiment-api-registry-read-{env}"


def signing_key_credential(env: str) -> str:
    """The id of env's model signing key (a Secret file): bound in Publish only."""
    return f"sentiment-api-model-signing-key-{env}"


def image_signing_key_credential(env: str) -> str:
    """The id of env's image signing key (a Secret file): bound in Build only."""
    return f"sentiment-api-image-signing-key-{env}"


def fake_file_credential(name: str) -> dict:
    """A Secret file credential (its content is test data, not a key)."""
    return {"type": "file", "secret": f"file-content-of-{name}"}


CREDENTIALS = {
    credential: fake_credential(credential.removeprefix("sentiment-api-"))
    for env in ENVS
    for credential in (deploy_credential(env), registry_read_credential(env))
} | {
    key(env): fake_file_credential(key(env))
    for env in ENVS
    for key in (signing_key_credential, image_signing_key_credential)
}


def scenario(**overrides) -> dict:
    """A push build of main with the default parameters, every credential defined and passing JUnit reports."""
    base = {
        "jenkinsfile": str(JENKINSFILE),
        "branch": "main",
        "params": {},
        "credentials": CREDENTIALS,
        "sh": [],
        "input": [],
        "junit": {"tests": 10, "failures": 0},
        "mode": "plan",
    }
    return {**base, **overrides}


def groovy_env(base: dict | None = None) -> dict:
    """Debian's groovy launcher wants JAVA_HOME; take it from the environment or from the java on PATH."""
    env = dict(os.environ if base is None else base)
    if not env.get("JAVA_HOME"):
        java = shutil.which("java")
        if java:
            env["JAVA_HOME"] = str(Path(java).resolve().parents[1])
    return env


def require_groovy() -> None:
    if shutil.which("groovy") is None:
        pytest.skip("NOT TESTED: groovy 2.4 is not installed (apt install groovy)")


@functools.cache
def compiled() -> Path:
    """Harness.groovy compiled once per test session (groovyc): each run then starts in under a second."""
    classes = Path(tempfile.mkdtemp(prefix="jenkins-harness-"))
    atexit.register(shutil.rmtree, classes, ignore_errors=True)
    out = subprocess.run(
        ["groovyc", "-d", str(classes), str(HARNESS)], capture_output=True, text=True, timeout=300, env=groovy_env()
    )
    if out.returncode != 0:
        raise AssertionError(f"groovyc {HARNESS.name}: {out.stdout[-2000:]}{out.stderr[-2000:]}")
    return classes


def run(scenarios: list[dict], *, timeout: float = 300, stream: bool = False, env: dict | None = None) -> list[dict]:
    """One groovy process for all scenarios; exit 2 (a scenario error) or any crash fails the calling test.

    env: the process environment (run mode: the agent's, which every sh step inherits); stream: leave the
    harness's stderr (run mode: the steps' output) to this process's, where pytest captures it."""
    require_groovy()
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "scenarios.json"
        spec.write_text(json.dumps(scenarios))
        out = subprocess.run(
            ["groovy", "-cp", str(compiled()), "-e", "Harness.main(args)", str(spec)],
            stdout=subprocess.PIPE,
            stderr=None if stream else subprocess.PIPE,
            text=True,
            timeout=timeout,
            env=groovy_env(env),
        )
    if out.returncode != 0:
        raise AssertionError(f"harness exit {out.returncode}: {(out.stderr or '')[-3000:]}")
    traces = json.loads(out.stdout)
    assert len(traces) == len(scenarios)
    return traces


def run_source(source: str, tmp_path: Path, **overrides) -> dict:
    """The harness over a Jenkinsfile given as text."""
    path = tmp_path / "Jenkinsfile"
    path.write_text(source)
    return run([scenario(jenkinsfile=str(path), **overrides)])[0]


def shell(trace: dict) -> list[str]:
    """The sh scripts in the order they ran."""
    return [s["script"] for s in trace["steps"] if s["step"] == "sh"]


def steps(trace: dict, kind: str) -> list[dict]:
    return [s for s in trace["steps"] if s["step"] == kind]


def statuses(trace: dict) -> dict[str, str]:
    return {s["name"]: s["status"] for s in trace["stages"]}


def lead_time(trace: dict) -> dict:
    """Seconds per stage that ran (nested stages under their parents), and from the first stage's start to the
    last stage's end: a push's lead time to a smoke-tested release when the build ends with Smoke."""
    ran = [s for s in trace["stages"] if "startedMs" in s]
    start, end = min(s["startedMs"] for s in ran), max(s["endedMs"] for s in ran)
    stubbed = {s["where"] for s in steps(trace, "sh") if s.get("stubbed")}
    return {
        "stages": [
            {
                "stage": s["name"],
                "seconds": round((s["endedMs"] - s["startedMs"]) / 1000, 1),
                "stubbed": s["name"] in stubbed,
            }
            for s in ran
        ],
        "lead_time_s": round((end - start) / 1000, 1),
        "result": trace["result"],
    }
