"""The jenkins/ kit (plugins.txt, casc.yaml, the Dockerfiles), checked as far as can be without a Jenkins:
the YAML parses, every credential the Jenkinsfile binds is a folder credential of the job that builds that
branch (and a branch's job holds none that writes), the authorization strategy grants nothing by default,
every step and directive the Jenkinsfile uses comes from a listed plugin, the job-dsl scripts parse, the
agent mounts no engine socket, the Dockerfiles pass hadolint."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import tree_sitter_groovy
import yaml
from jenkins_harness import (
    ENVS,
    JENKINSFILE,
    REPO,
    fake_credential,
    fake_file_credential,
    groovy_env,
    require_groovy,
    run,
    scenario,
)
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
    "parallel",
    "failFast",
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
    "file": "credentials-binding",
    "junit": "junit",
    "publishHTML": "htmlpublisher",
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
KIT_PLUGINS = {
    "configuration-as-code",
    "job-dsl",
    "github-branch-source",
    "workflow-multibranch",
    "credentials",
    "cloudbees-folder",
    "matrix-auth",
}
DOCS = REPO / "docs" / "how-to" / "jenkins.md"
RELEASE_JOB = "sentiment-api-release/sentiment-api"
BRANCHES_JOB = "sentiment-api"


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


def job_dsl_items(casc: dict) -> dict[str, str]:
    """Each item a job-dsl script of casc.yaml creates (folder, multibranch or pipeline job): its full name and
    the text of its block."""
    items = {}
    for job in casc["jobs"]:
        parts = re.split(r"^(?:folder|multibranchPipelineJob|pipelineJob)\('([^']+)'\) \{$", job["script"], flags=re.M)
        items |= dict(zip(parts[1::2], parts[2::2], strict=True))
    return items


def folder_credentials(casc: dict) -> dict[str, dict[str, dict]]:
    """The folder credentials of each job-dsl item: {item: {id: {username, password, usernameSecret}}}."""
    found = {}
    for item, block in job_dsl_items(casc).items():
        creds = {}
        for kind, body in re.findall(r"(usernamePassword|file)CredentialsImpl \{(.*?)\n\s*\}", block, flags=re.S):
            fields = dict(re.findall(r"(\w+)\('([^']*)'\)", body))
            fields["type"] = kind
            fields["usernameSecret"] = "usernameSecret(true)" in body  # pragma: allowlist secret
            creds[fields["id"]] = fields
        found[item] = creds
    return found


def credentials_of(job: str) -> dict[str, dict]:
    """What a build of `job` (a multibranch job in casc.yaml) can bind: its own and its folders' credentials."""
    folders = folder_credentials(CASC)
    names = ["/".join(job.split("/")[: i + 1]) for i in range(job.count("/") + 1)]
    return {cid: spec for name in names for cid, spec in folders.get(name, {}).items()}


def store(job: str) -> dict[str, dict]:
    """The harness's credential store for a build of job: exactly the ids casc.yaml scopes to it, fake values."""
    return {
        cid: fake_file_credential(cid) if spec["type"] == "file" else fake_credential(cid)
        for cid, spec in credentials_of(job).items()
    }


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


def test_each_job_holds_exactly_the_credentials_its_builds_bind():
    """main's builds (every ENV, prod approved) pass with only the release folder's credentials; a branch's
    (dev) with only the branches job's, which hold nothing that writes; a branch asking for qa fails at Gate."""
    mains = [scenario(params={"ENV": env}, input=["proceed"], credentials=store(RELEASE_JOB)) for env in ENVS]
    branch = scenario(branch="feature/x", credentials=store(BRANCHES_JOB))
    branch_qa = scenario(branch="feature/x", params={"ENV": "qa"}, credentials=store(BRANCHES_JOB))
    *main_traces, branch_trace, branch_qa_trace = run([*mains, branch, branch_qa])
    assert [t["result"] for t in main_traces] == ["SUCCESS"] * 3, [t["steps"][-3:] for t in main_traces]
    used = {cid for t in main_traces for cid in t["credentialsUsed"]}
    kinds = ("aws", "registry-read", "model-signing-key", "image-signing-key")
    assert used == {f"sentiment-api-{kind}-{env}" for kind in kinds for env in ENVS}
    assert branch_trace["result"] == "SUCCESS" and branch_trace["credentialsUsed"] == [
        "sentiment-api-registry-read-dev"
    ]
    assert branch_qa_trace["result"] == "FAILURE"
    assert [s["where"] for s in branch_qa_trace["steps"] if s["step"] == "failed"] == ["Gate"]
    assert not [cid for cid in credentials_of(BRANCHES_JOB) if cid.startswith("sentiment-api-aws-")]


def test_no_credential_is_global_and_none_is_written_in_the_file():
    assert "credentials" not in CASC, "a global credential: every job on the controller could bind it"
    for item, creds in folder_credentials(CASC).items():
        for cid, spec in creds.items():
            # Values from the controller's environment only: nothing secret is written in the file.
            if spec["type"] == "file":  # a Secret file: the content of the file a variable names
                assert re.fullmatch(r"\$\{readFileBase64:\$\{[A-Z0-9_]+_FILE\}\}", spec["secretBytes"]), (item, cid)
                signing_keys = ("sentiment-api-model-signing-key-", "sentiment-api-image-signing-key-")
                assert cid.startswith(signing_keys) and item == "sentiment-api-release", cid
                continue
            assert re.fullmatch(r"\$\{[A-Z0-9_]+\}", spec["username"]), (item, cid)
            assert re.fullmatch(r"\$\{[A-Z0-9_]+\}", spec["password"]), (item, cid)
            assert spec["usernameSecret"] is cid.startswith(("sentiment-api-aws-", "sentiment-api-registry-read-"))


def test_authorization_grants_nothing_by_default():
    strategy = CASC["jenkins"]["authorizationStrategy"]
    assert list(strategy) == ["projectMatrix"]
    entries = [
        (kind, e["name"], e["permissions"])
        for entry in strategy["projectMatrix"]["entries"]
        for kind, e in entry.items()
    ]
    assert entries == [("user", "admin", ["Overall/Administer"]), ("group", "authenticated", ["Overall/Read"])]
    items = job_dsl_items(CASC)
    release = items["sentiment-api-release"]
    # Only the release manager (and admin) may start main's builds, and so approve prod's input.
    assert "permissions('authenticated', ['hudson.model.Item.Read'])" in release
    assert "permissions('release-manager', ['hudson.model.Item.Read', 'hudson.model.Item.Build'" in release
    users = [u["id"] for u in CASC["jenkins"]["securityRealm"]["local"]["users"]]
    assert users == ["admin", "release-manager"]


def test_casc_agent_label_and_jobs_match_the_jenkinsfiles():
    label = run([scenario()])[0]["agent"]["label"]
    nodes = [n["permanent"] for n in CASC["jenkins"]["nodes"]]
    assert any(label in n["labelString"].split() for n in nodes)
    items = job_dsl_items(CASC)
    assert set(items) == {"sentiment-api-release", RELEASE_JOB, "sentiment-api-release/monitor", BRANCHES_JOB}
    for job in (RELEASE_JOB, BRANCHES_JOB):
        assert "scriptPath('Jenkinsfile')" in items[job] and "credentialsId('sentiment-api-github')" in items[job]
        assert "sentiment-api-github" in credentials_of(job)
    # main is built only by the release job, every other branch only by the branches job.
    assert "headWildcardFilter { includes('main'); excludes('') }" in items[RELEASE_JOB]
    assert "headWildcardFilter { includes('*'); excludes('main') }" in items[BRANCHES_JOB]
    monitor = items["sentiment-api-release/monitor"]
    assert "scriptPath('infra/jenkins/Jenkinsfile.monitor')" in monitor and "branch('main')" in monitor
    assert f"defaultValue: '{RELEASE_JOB}/main'" in (KIT / "Jenkinsfile.monitor").read_text()


def test_every_controller_variable_is_documented():
    text = (KIT / "casc.yaml").read_text()
    docs = DOCS.read_text()
    variables = set(re.findall(r"\$\{([A-Z0-9_]+)\}", text))
    assert {
        "JENKINS_ADMIN_PASSWORD",
        "SENTIMENT_API_AWS_PROD_SECRET_ACCESS_KEY",
        "JENKINS_RELEASE_MANAGER_PASSWORD",
    } <= variables
    assert not [v for v in sorted(variables) if v not in docs]


@pytest.mark.parametrize("index", [0, 1])
def test_the_job_dsl_scripts_parse_as_groovy(tmp_path, index):
    require_groovy()
    script = tmp_path / "job.groovy"
    script.write_text(CASC["jobs"][index]["script"])
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
    for needle in ("python3-venv", "groovy", "npm", "podman", "uidmap", "terraform_${TERRAFORM_VERSION}_linux", "git"):
        assert needle in text, needle
    # No engine socket of the host's: the agent builds with rootless podman in its own user namespace.
    assert "jenkins:100000:65536" in text
    assert "docker.sock" not in text and "docker-ce-cli" not in text
    assert "/var/run/docker.sock:" not in DOCS.read_text()
    controller = (KIT / "controller.Dockerfile").read_text()
    assert "FROM jenkins/jenkins:" in controller and "jenkins-plugin-cli --plugin-file" in controller
    assert Path(KIT / "plugins.txt").exists()
