"""The jenkins/ kit (plugins.txt, casc.yaml, the Dockerfiles), checked as far as can be without a Jenkins:
the YAML parses, every credential the Jenkinsfile binds is defined there, every step and directive the
Jenkinsfile uses comes from a listed plugin, the job-dsl script parses, the Dockerfiles pass hadolint."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import tree_sitter_groovy
import yaml
from jenkins_harness import JENKINSFILE, REPO, groovy_env, require_groovy, run, scenario
from tree_sitter import Language, Parser

KIT = REPO / "infra" / "jenkins"
HADOLINT = REPO / ".venv-tools" / "bin" / "hadolint"
CASC = yaml.safe_load((KIT / "casc.yaml").read_text())

# Which plugin provides each step, directive, option, trigger, condition and helper (Jenkins' Pipeline Steps
# Reference and Pipeline Syntax pages); "core" is Jenkins itself. A name the Jenkinsfile starts to use must be
# added here with its plugin, and the plugin to plugins.txt.
DECLARATIVE = [
    "pipeline",
    "agent",
    "label",
    "options",
    "parameters",
    "triggers",
    "environment",
    "stages",
    "stage",
    "steps",
    "when",
    "branch",
    "expression",
    "allOf",
    "anyOf",
    "not",
    "post",
    "always",
    "success",
    "failure",
    "unstable",
    "aborted",
    "unsuccessful",
    "cleanup",
    "changed",
    "fixed",
    "regression",
    "script",
    "credentials",
]
PROVIDER = {
    **dict.fromkeys(DECLARATIVE, "pipeline-model-definition"),
    "sh": "workflow-durable-task-step",
    "echo": "workflow-basic-steps",
    "error": "workflow-basic-steps",
    "timeout": "workflow-basic-steps",
    "withEnv": "workflow-basic-steps",
    "archiveArtifacts": "workflow-basic-steps",
    "input": "pipeline-input-step",
    "withCredentials": "credentials-binding",
    # pragma: allowlist nextline secret (test data, not a credential)
    "usernamePassword": "credentials-binding",
    "junit": "junit",
    "timestamps": "timestamper",
    "githubPush": "github",
    "disableConcurrentBuilds": "workflow-job",
    "buildDiscarder": "core",
    "logRotator": "core",
    "choice": "core",
    "booleanParam": "core",
    "string": "core",
}
# What the kit itself needs beyond the Jenkinsfile: JCasC, its jobs: section, the job's branch source.
KIT_PLUGINS = {"configuration-as-code", "job-dsl", "github-branch-source", "workflow-multibranch", "credentials"}


def plugins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert re.fullmatch(r"[a-z0-9][a-z0-9._-]*:[0-9][0-9A-Za-z._-]*", line), f"not <id>:<version>: {line}"
            plugin, version = line.split(":")
            assert plugin not in pins, f"{plugin} listed twice"
            pins[plugin] = version
    return pins


def dsl_names(source: str) -> set[str]:
    """Every name the Jenkinsfile calls as a function or a block, from its syntax tree."""
    root = Parser(Language(tree_sitter_groovy.language())).parse(source.encode()).root_node
    names, stack = set(), [root]
    while stack:
        node = stack.pop()
        if node.type in ("method_invocation", "juxt_function_call"):
            ident = next((c for c in node.children if c.type == "identifier"), None)
            if ident is not None:
                names.add(ident.text.decode())
        stack.extend(node.children)
    return names


def plugin_problems(source: str, plugins_text: str) -> list[str]:
    pins = plugins(plugins_text)
    problems = [f"{name}: no plugin known for it (add it to PROVIDER)" for name in dsl_names(source) - PROVIDER.keys()]
    for name in sorted(dsl_names(source) & PROVIDER.keys()):
        if PROVIDER[name] != "core" and PROVIDER[name] not in pins:
            problems.append(f"{name} needs {PROVIDER[name]}, not in plugins.txt")
    problems += [f"the kit needs {p}, not in plugins.txt" for p in sorted(KIT_PLUGINS - pins.keys())]
    return problems


def casc_credentials(casc: dict) -> dict[str, dict]:
    found = {}
    for domain in casc["credentials"]["system"]["domainCredentials"]:
        for entry in domain["credentials"]:
            ((kind, spec),) = entry.items()
            found[spec["id"]] = {"kind": kind, **spec}
    return found


def test_plugins_txt_covers_every_step_and_directive_of_the_jenkinsfile():
    assert plugin_problems(JENKINSFILE.read_text(), (KIT / "plugins.txt").read_text()) == []


@pytest.mark.parametrize(
    "edit",
    [
        lambda source, pins: (source, pins.replace("timestamper:", "# timestamper:")),
        lambda source, pins: (source, pins.replace("pipeline-input-step:", "# pipeline-input-step:")),
        lambda source, pins: (source.replace("timestamps()", "timestamps()\n        ansiColor('xterm')"), pins),
    ],
    ids=["timestamper missing", "input step's plugin missing", "a step with no known plugin"],
)
def test_the_plugin_check_fails_when_it_should(edit):
    source, pins = edit(JENKINSFILE.read_text(), (KIT / "plugins.txt").read_text())
    assert plugin_problems(source, pins)


def test_casc_defines_every_credential_the_jenkinsfile_binds_for_each_env():
    traces = run([scenario(params={"ENV": env}, input=["proceed"]) for env in ("dev", "qa", "prod")])
    used = {cid for t in traces for cid in t["credentialsUsed"]}
    assert used == {"sentiment-api-aws-dev", "sentiment-api-aws-qa", "sentiment-api-aws-prod"}
    defined = casc_credentials(CASC)
    assert used <= defined.keys()
    for cid in used:
        spec = defined[cid]
        assert spec["kind"] == "usernamePassword" and spec["scope"] == "GLOBAL"
        # Values from the controller's environment only: nothing secret is written in the file.
        assert re.fullmatch(r"\$\{[A-Z0-9_]+\}", spec["username"]) and re.fullmatch(
            r"\$\{[A-Z0-9_]+\}", spec["password"]
        )
        assert spec["usernameSecret"] is True


def test_casc_agent_label_and_job_match_the_jenkinsfile():
    label = run([scenario()])[0]["agent"]["label"]
    nodes = [n["permanent"] for n in CASC["jenkins"]["nodes"]]
    assert any(label in n["labelString"].split() for n in nodes)
    (job,) = CASC["jobs"]
    script = job["script"]
    assert "multibranchPipelineJob('sentiment-api')" in script
    assert "scriptPath('Jenkinsfile')" in script
    assert "credentialsId('sentiment-api-github')" in script and "sentiment-api-github" in casc_credentials(CASC)


def test_every_controller_variable_is_documented():
    text = (KIT / "casc.yaml").read_text()
    docs = (KIT / "README.md").read_text()
    variables = set(re.findall(r"\$\{([A-Z0-9_]+)\}", text))
    assert {"JENKINS_ADMIN_PASSWORD", "SENTIMENT_API_AWS_PROD_SECRET_ACCESS_KEY"} <= variables
    assert not [v for v in sorted(variables) if v not in docs]


def test_the_job_dsl_script_parses_as_groovy(tmp_path):
    require_groovy()
    script = tmp_path / "job.groovy"
    script.write_text(CASC["jobs"][0]["script"])
    check = f'new GroovyShell().parse(new File("{script}").text, "job"); println "parsed"'
    out = subprocess.run(["groovy", "-e", check], capture_output=True, text=True, timeout=120, env=groovy_env())
    assert out.returncode == 0 and "parsed" in out.stdout, out.stderr[-2000:]


@pytest.mark.skipif(not HADOLINT.exists(), reason="NOT TESTED: hadolint missing; run bash .ci/setup (.venv-tools)")
@pytest.mark.parametrize("dockerfile", ["agent.Dockerfile", "controller.Dockerfile"])
def test_hadolint_finds_nothing_in_the_kit_dockerfiles(dockerfile):
    out = subprocess.run([str(HADOLINT), str(KIT / dockerfile)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_agent_has_what_the_stages_run():
    text = (KIT / "agent.Dockerfile").read_text()
    assert "FROM jenkins/inbound-agent:" in text and "bookworm" in text  # bookworm's python3 is 3.11
    for needle in ("python3-venv", "groovy", "docker-ce-cli", "terraform_${TERRAFORM_VERSION}_linux", "git"):
        assert needle in text, needle
    controller = (KIT / "controller.Dockerfile").read_text()
    assert "FROM jenkins/jenkins:" in controller and "jenkins-plugin-cli --plugin-file" in controller
    assert Path(KIT / "plugins.txt").exists()
