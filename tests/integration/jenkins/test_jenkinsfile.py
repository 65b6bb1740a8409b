"""The Jenkinsfile, checked over its syntax tree (no Jenkins runs here) and by a Groovy 2.4 parse.

Each check returns a list of problems; the tests assert none on the real file and at
least one on mutated copies, so the checks are known to fail when they should.
"""

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import tree_sitter_groovy
from tree_sitter import Language, Node, Parser

from pipeline.settings import PipelineSettings

JENKINSFILE = Path(__file__).resolve().parents[3] / "Jenkinsfile"
DEPLOY_SIDE = {"provision", "publish", "build", "deploy", "smoke"}
# Parameters reach every sh step as environment variables: none may be named like a setting.
SETTINGS = {name.upper() for name in PipelineSettings.model_fields}
AWS_BINDING = 'credentialsId: "sentiment-api-aws-${params.ENV}"'
READ_BINDING = 'credentialsId: "sentiment-api-registry-read-${params.ENV}"'
SIGNING_BINDING = (
    "file(credentialsId: \"sentiment-api-model-signing-key-${params.ENV}\", variable: 'MODEL_SIGNING_KEY_FILE')"
)
IMAGE_SIGNING_BINDING = (
    "file(credentialsId: \"sentiment-api-image-signing-key-${params.ENV}\", variable: 'IMAGE_SIGNING_KEY_FILE')"
)
# The stages that sign, each with the one key it signs with: the only stage that key is bound in.
SIGNS = {"publish": ("model-signing-key", SIGNING_BINDING), "build": ("image-signing-key", IMAGE_SIGNING_BINDING)}
UNIT_TIER = "pytest tests/unit"
INTEGRATION_TIER = "pytest tests/integration"
PARSER = Parser(Language(tree_sitter_groovy.language()))


def text(node: Node) -> str:
    return node.text.decode()


def calls(node: Node, name: str) -> list[Node]:
    """Every `name(...) {...}` / `name {...}` invocation below node."""
    found = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in ("method_invocation", "juxt_function_call"):
            ident = next((c for c in current.children if c.type == "identifier"), None)
            if ident is not None and text(ident) == name:
                found.append(current)
        stack.extend(reversed(current.children))
    return found


def stages(root: Node) -> list[tuple[str, Node]]:
    result = []
    for node in calls(root, "stage"):
        args = next((c for c in node.children if c.type == "argument_list"), None)
        name = re.sub(r"^['\"]|['\"]$", "", text(args)[1:-1]) if args else "?"
        result.append((name, node))
    return result


def check(source: str) -> list[str]:
    problems = []
    tree = PARSER.parse(source.encode())
    root = tree.root_node
    if root.has_error:
        problems.append("syntax error")
    top = calls(root, "pipeline")
    if len(top) != 1:
        return [*problems, "no single top-level pipeline { } block"]
    pipe = top[0]
    for section in ("agent", "options", "parameters", "triggers", "environment", "stages", "post"):
        if section not in text(pipe):
            problems.append(f"missing {section}")
    for name, node in stages(pipe):
        if len(calls(node, "stage")) > 1:  # a parent of parallel or sequential stages: its leaves are checked
            continue
        if not calls(node, "steps"):
            problems.append(f"stage {name} has no steps")
        called = set(re.findall(r"-m pipeline\.(\w+)", text(node)))
        if called & DEPLOY_SIDE and "branch 'main'" not in text(node):
            problems.append(f"stage {name} deploys but is not limited to main")
        bindings = calls(node, "withCredentials")
        if called & DEPLOY_SIDE and not all(
            any(AWS_BINDING in text(b) and text(sh) in text(b) for b in bindings)
            for sh in calls(node, "sh")
            if "-m pipeline." in text(sh)
        ):
            problems.append(f"stage {name} calls AWS without its environment's credentials bound around the call")
        if called == {"gate"} and not all(
            any(READ_BINDING in text(b) and text(sh) in text(b) for b in bindings) for sh in calls(node, "sh")
        ):
            problems.append(f"stage {name} reads the registry without the read-only credential bound around it")
        if bindings and not called & (DEPLOY_SIDE | {"gate"}):
            problems.append(
                f"stage {name} binds credentials but calls no stage that needs them (tests run branch code)"
            )
        for signer, (credential, binding) in SIGNS.items():
            signs = [sh for sh in calls(node, "sh") if signer in re.findall(r"-m pipeline\.(\w+)", text(sh))]
            if signs and not all(any(binding in text(b) and text(sh) in text(b) for b in bindings) for sh in signs):
                problems.append(f"stage {name} signs without its environment's {credential} bound around the call")
            if credential in text(node) and not called <= {signer}:
                problems.append(f"stage {name} binds the {credential} but does not (only) run {signer}, which signs")
        if called == {"gate"} and AWS_BINDING in text(node):
            problems.append(f"stage {name} only reads, but binds the deploy credential (which writes)")
    problems += shape_problems(pipe)
    for block in calls(pipe, "environment"):
        if "credentials(" in text(block):
            problems.append("an environment block binds credentials for every stage")
    for parameter in re.findall(r"name: '(\w+)'", text(next(iter(calls(pipe, "parameters")), pipe))):
        if parameter in SETTINGS:
            problems.append(f"parameter {parameter} shadows the setting of the same name in every sh step")
    for name in set(re.findall(r"-m pipeline\.(\w+)", source)):
        if importlib.util.find_spec(f"pipeline.{name}") is None:
            problems.append(f"pipeline.{name} does not exist")
    deploy = next((node for name, node in stages(pipe) if "-m pipeline.deploy" in text(node)), None)
    approval = r"--plan-only.*params\.ENV == 'prod'.*\binput\(.*--apply-plan"
    if deploy is None or not re.search(approval, text(deploy), re.S):
        problems.append("prod has no input approval between the saved plan and its apply")
    post = calls(pipe, "post")
    if not post or "junit" not in text(post[0]) or "artifacts/reports/*.xml" not in text(post[0]):
        problems.append("post does not publish the JUnit reports")
    if not post or not all(f"reportFiles: '{page}'" in text(post[0]) for page in ("model.html", "delivery.html")):
        problems.append("post does not publish the model and delivery reports (publishHTML)")
    return problems


def shape_problems(pipe: Node) -> list[str]:
    """Lint and the unit tier first; then one parallel stage with failFast holding the integration tier and
    Train -> Gate; the release stages after it."""
    parallel = [node for _, node in stages(pipe) if calls(node, "parallel")]
    if len(parallel) != 1:
        return ["no single stage with parallel branches"]
    (node,) = parallel
    body, source = text(node), text(pipe)
    problems = []
    if not re.search(r"\bfailFast true\b", body):
        problems.append("the parallel stage does not fail fast")
    for needle in (INTEGRATION_TIER, "-m pipeline.train", "-m pipeline.gate"):
        if needle not in body:
            problems.append(f"{needle} does not run in the parallel stage")
    before, _, after = source.partition(body)
    if UNIT_TIER not in before:
        problems.append("the unit tier does not run before the parallel stage")
    if set(re.findall(r"-m pipeline\.(\w+)", before + body)) & DEPLOY_SIDE or INTEGRATION_TIER in after:
        problems.append("a release stage runs before the tests and the gate have passed")
    return problems


SOURCE = JENKINSFILE.read_text()


def test_the_jenkinsfile_passes_every_check():
    assert check(SOURCE) == []


def test_options_parameters_triggers_and_credentials():
    for needle in (
        "timestamps()",
        "timeout(",
        "disableConcurrentBuilds()",
        "buildDiscarder(",
        "githubPush()",
        "choices: ['dev', 'qa', 'prod']",
        "name: 'SKIP_TRAIN'",
        "name: 'DEPLOY_MODEL_VERSION'",
        'PROJECT_ENV = "${params.ENV}"',
        AWS_BINDING,
        "usernameVariable: 'AWS_ACCESS_KEY_ID', passwordVariable: 'AWS_SECRET_ACCESS_KEY'",
        "sh '.venv/bin/lint-imports'",
        "sh 'bash .ci/lint-jenkinsfiles'",
        "failFast true",
        READ_BINDING,
        SIGNING_BINDING,
        IMAGE_SIGNING_BINDING,
        "archiveArtifacts",
        "artifacts/**/*.json",
    ):
        assert needle in SOURCE, needle


MUTATIONS = {
    "misspelled": lambda s: s.replace("-m pipeline.smoke", "-m pipeline.smoak"),
    "deploy not limited to main": lambda s: s.replace(
        "stage('Smoke') {\n            when { branch 'main' }", "stage('Smoke') {"
    ),
    "no prod approval": lambda s: s.replace("input(message:", "echo(message:"),
    "no junit": lambda s: s.replace("junit allowEmptyResults: true, testResults: 'artifacts/reports/*.xml'", ""),
    "no model report": lambda s: s.replace("reportFiles: 'model.html'", "reportFiles: 'gate.json'"),
    "credentials for every stage": lambda s: s.replace(
        "PY = '.venv/bin/python'", "PY = '.venv/bin/python'\n        AWS_ACCESS_KEY_ID = credentials('aws-key')"
    ),
    "smoke without credentials": lambda s: re.sub(
        r"(stage\('Smoke'\).*?)withCredentials\(\[.*?\]\) \{\n\s*(sh '\$PY -m pipeline.smoke')\n\s*\}",
        r"\1\2",
        s,
        flags=re.S,
    ),
    "apply outside the binding": lambda s: s.replace(
        "{\n                        sh '$PY -m pipeline.deploy --apply-plan'\n                    }",
        "{\n                    }\n                    sh '$PY -m pipeline.deploy --apply-plan'",
    ),
    "credentials in the lint stage": lambda s: s.replace(
        "sh '.venv/bin/lint-imports'", "withCredentials([]) { sh '.venv/bin/lint-imports' }"
    ),
    "parameter named like a setting": lambda s: s.replace("'DEPLOY_MODEL_VERSION'", "'MODEL_VERSION'"),
    "no failFast": lambda s: s.replace("failFast true", ""),
    "unit tier in the parallel stage": lambda s: s.replace("sh '$PY -m pytest tests/unit", "echo '").replace(
        "sh '$PY -m pipeline.train'", "sh '$PY -m pytest tests/unit'\n sh '$PY -m pipeline.train'"
    ),
    "integration tier after the release": lambda s: s.replace("pytest tests/integration", "pytest tests/other").replace(
        "sh '$PY -m pipeline.smoke'", "sh '$PY -m pipeline.smoke'\n sh '$PY -m pytest tests/integration'"
    ),
    "Gate without its read credential": lambda s: s.replace(READ_BINDING, "credentialsId: 'unused'"),
    "Gate with the deploy credential": lambda s: s.replace(READ_BINDING, AWS_BINDING),
    "Publish without the signing key": lambda s: s.replace(",\n" + " " * 33 + SIGNING_BINDING, ""),
    "signing key bound in Build too": lambda s: s.replace(
        f"{IMAGE_SIGNING_BINDING}]) {{\n                    script {{",
        f"{IMAGE_SIGNING_BINDING}, {SIGNING_BINDING}]) {{\n                    script {{",
    ),
    "Build without the image signing key": lambda s: s.replace(",\n" + " " * 33 + IMAGE_SIGNING_BINDING, ""),
    "image signing key bound in Publish too": lambda s: s.replace(
        f"{SIGNING_BINDING}]) {{", f"{SIGNING_BINDING}, {IMAGE_SIGNING_BINDING}]) {{"
    ),
    "image signing key bound in Deploy": lambda s: s.replace(
        "{\n                        sh '$PY -m pipeline.deploy --apply-plan'",
        f"{{\n                        withCredentials([{IMAGE_SIGNING_BINDING}]) {{ sh 'true' }}\n"
        "                        sh '$PY -m pipeline.deploy --apply-plan'",
    ),
    "stage without steps": lambda s: s.replace(
        "steps {\n                sh 'bash .ci/setup'\n            }", "sh 'bash .ci/setup'"
    ),
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_the_checks_catch_a_broken_jenkinsfile(mutation):
    mutated = MUTATIONS[mutation](SOURCE)
    assert mutated != SOURCE, "the mutation did not apply"
    assert check(mutated), f"{mutation} went unnoticed"


@pytest.mark.skipif(
    shutil.which("groovy") is None, reason="NOT TESTED: groovy 2.4 is not installed (apt install groovy)"
)
def test_groovy_parses_the_jenkinsfile(tmp_path):
    # Debian's groovy launcher wants /usr/lib/jvm/default-java; point it at the java on PATH instead.
    java = shutil.which("java")
    env = {**os.environ, "JAVA_HOME": str(Path(java).resolve().parents[1])} if java else dict(os.environ)
    script = f'new GroovyShell().parse(new File("{JENKINSFILE}").text, "Jenkinsfile"); println "parsed"'
    out = subprocess.run(["groovy", "-e", script], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0 and "parsed" in out.stdout, out.stderr[-2000:]
    broken = tmp_path / "Jenkinsfile"
    broken.write_text(SOURCE.replace("stages {", "stages {{", 1))
    script = f'new GroovyShell().parse(new File("{broken}").text, "Jenkinsfile")'
    assert (
        subprocess.run(["groovy", "-e", script], capture_output=True, text=True, timeout=120, env=env).returncode != 0
    )
