"""The Terraform points of the security review, offline.

1. Validation of the release inputs: every validation block of image, model_version, the model
   bucket name (and the server's port) runs in a real `terraform test` plan of the variables file
   that declares it (module and root stack alike), against good and hostile values.
2. The user data: rendering refuses any value that would need quoting (so none can leave the
   heredoc, the unit or a command), and the rendered script is clean for shellcheck.
3-5. qa/prod only over HTTPS, /metrics not through the load balancer, the instance role's reads,
   the registry lifecycle: the `terraform test` suites under infra/**/tests (mock provider, no AWS),
   plus root-stack cases a test file cannot expect (a module's precondition failing).
"""

import base64
import json
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
INFRA = REPO / "infra"
TEMPLATE = INFRA / "modules" / "server" / "templates" / "user_data.sh.tftpl"
MIRROR = Path(os.environ.get("TF_PLUGIN_MIRROR", "/opt/tf-plugins"))


def terraform_version() -> tuple[int, ...]:
    if shutil.which("terraform") is None:
        return ()
    out = subprocess.run(["terraform", "version", "-json"], capture_output=True, text=True, timeout=60)
    match = re.match(r"(\d+)\.(\d+)", json.loads(out.stdout or "{}").get("terraform_version", ""))
    return tuple(int(n) for n in match.groups()) if match else ()


pytestmark = pytest.mark.skipif(
    terraform_version() < (1, 7),
    reason="NOT TESTED: terraform >= 1.7 (terraform test with mock providers) is not installed on this machine",
)
needs_mirror = pytest.mark.skipif(
    not MIRROR.is_dir() and not os.environ.get("TF_CLI_CONFIG_FILE"),
    reason=f"NOT TESTED: no provider mirror at {MIRROR} (offline) and no TF_CLI_CONFIG_FILE",
)


def with_provider(test):
    """The suites with the (mocked) AWS provider: its schema costs ~1 s a run, ~30 s in all."""
    return pytest.mark.slow(needs_mirror(test))


needs_shellcheck = pytest.mark.skipif(
    shutil.which("shellcheck") is None, reason="NOT TESTED: shellcheck is not installed (apt-get install shellcheck)"
)

RUN_RESULT = re.compile(r'^\s*run "([^"]+)"\.\.\. (pass|fail|skip)', re.M)


def terraform_env(work: Path) -> dict[str, str]:
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
    env.pop("TF_DATA_DIR", None)
    configured = env.get("TF_CLI_CONFIG_FILE")
    if (not configured or not Path(configured).is_file()) and MIRROR.is_dir():
        config = work / "cli.tfrc"
        config.write_text(
            "provider_installation {\n"
            f'  filesystem_mirror {{ path = "{MIRROR}" }}\n'
            '  direct { exclude = ["registry.terraform.io/*/*"] }\n'
            "}\n"
        )
        env["TF_CLI_CONFIG_FILE"] = str(config)
    return env


def terraform(args: list[str], cwd: Path, env: dict[str, str], stdin: str | None = None):
    return subprocess.run(
        ["terraform", *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=600
    )


def terraform_test(directory: Path, env: dict[str, str], *args: str, init: bool = True) -> tuple[dict[str, str], str]:
    """`terraform test` in `directory`: ({run name: pass|fail|skip}, the whole output)."""
    if init:
        out = terraform(["init", "-backend=false", "-input=false", "-no-color"], directory, env)
        assert out.returncode == 0, out.stdout + out.stderr
    out = terraform(["test", "-no-color", *args], directory, env)
    output = out.stdout + out.stderr
    return dict(RUN_RESULT.findall(out.stdout)), output


def hcl(value) -> str:
    """A Terraform literal for a Python str or number (no template sequences survive)."""
    if isinstance(value, str):
        return json.dumps(value).replace("${", "$${").replace("%{", "%%{")
    return json.dumps(value)


# --- 1. validation of the release inputs --------------------------------------------------------

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sentiment-api-dev:0123456789ab-aaaaaaaaaaaa"
DIGEST = "sha256:" + "0123456789abcdef" * 4
REQUIRED = {  # values for the variables without a default
    "name": "sentiment-api-dev-models",
    "project_name": "sentiment-api",
    "environment": "dev",
    "region": "eu-west-1",
    "image": IMAGE,
    "model_version": "aaaaaaaaaaaa",
    "model_bucket_name": "sentiment-api-dev-models",
    "model_bucket_arn": "arn:aws:s3:::sentiment-api-dev-models",
    "model_bucket_kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000",
    "repository_arn": "arn:aws:ecr:eu-west-1:123456789012:repository/sentiment-api-dev",
    "repository_name": "sentiment-api-dev",
}

MODEL_VERSIONS = {
    "ok-version": ("aaaaaaaaaaaa", True),
    "ok-digits": ("012345678901", True),
    "newline-command": ("aaaaaaaaaaaa\nrm -rf /", False),
    "heredoc-end": ("aaaaaaaaaaaa\nUNIT", False),
    "champion": ("champion", False),
    "upper-case": ("AAAAAAAAAAAA", False),
    "eleven": ("aaaaaaaaaaa", False),
    "thirteen": ("aaaaaaaaaaaaa", False),
    "quote": ("aaaaaaaaaaa'", False),
    "space": ("aaaaaa aaaaaa", False),
    "dollar": ("$(reboot)0123", False),
    "empty": ("", False),
}

IMAGES = {
    "ok-ecr-tag": (IMAGE, True),
    "ok-dirty-tag": (IMAGE.replace(":0123456789ab-", ":0123456789ab-dirty0a1b2c3d-"), True),
    "ok-local-registry": ("127.0.0.1:5000/it-0a1b2c3d-local:0123456789ab-aaaaaaaaaaaa", True),
    "ok-localhost-digest": (f"localhost:5000/team/app@{DIGEST}", True),
    "ok-tag-and-digest": (f"registry.example.com:443/app:v1.2@{DIGEST}", True),
    "space-option": (IMAGE + " --privileged", False),
    "newline-directive": (IMAGE + "\nExecStartPre=/bin/sh -c reboot", False),
    "tab": (IMAGE + "\treboot", False),
    "dollar": ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:$(reboot)", False),
    "dollar-brace": ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:${HOME}", False),
    "backtick": ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app`reboot`:v1", False),
    "semicolon": (IMAGE + ";reboot", False),
    "single-quote": (IMAGE + "'", False),
    "double-quote": (IMAGE + '"', False),
    "percent-specifier": ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:%n", False),
    "pipe": (IMAGE + "|reboot", False),
    "ampersand": (IMAGE + "&", False),
    "backslash": (IMAGE + "\\", False),
    "no-registry-host": ("sentiment-api:0123456789ab-aaaaaaaaaaaa", False),
    "leading-dash": ("-x.example.com/app:v1", False),
    "empty-tag": ("registry.example.com/app:", False),
    "no-tag": ("registry.example.com/app", False),
    "short-digest": ("registry.example.com/app@sha256:0123", False),
    "latest": ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:latest", False),
    "latest-with-digest": (f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:latest@{DIGEST}", False),
    "upper-case-repository": ("registry.example.com/App:v1", False),
}

BUCKETS = {
    "ok-pipeline-name": ("sentiment-api-dev-models", True),
    "ok-test-name": ("it-0a1b2c3d-local-models", True),
    "ok-dots": ("models.example.com", True),
    "ok-three": ("a1b", True),
    "ok-sixty-three": ("a" * 63, True),
    "upper-case": ("Sentiment-Models", False),
    "two": ("ab", False),
    "sixty-four": ("a" * 64, False),
    "underscore": ("sentiment_models", False),
    "leading-dash": ("-models", False),
    "trailing-dot": ("models.", False),
    "adjacent-dots": ("models..qa", False),
    "ip-address": ("192.168.5.4", False),
    "prefix-xn": ("xn--models", False),
    "prefix-sthree": ("sthree-models", False),
    "prefix-amzn-s3-demo": ("amzn-s3-demo-models", False),
    "suffix-s3alias": ("models-s3alias", False),
    "suffix-ol-s3": ("models--ol-s3", False),
    "suffix-mrap": ("models.mrap", False),
    "suffix-x-s3": ("models--x-s3", False),
    "suffix-table-s3": ("models--table-s3", False),
    "semicolon": ("models;reboot", False),
    "newline": ("models\nreboot", False),
    "dollar": ("models$(reboot)", False),
    "space": ("models reboot", False),
}

PUBLIC_KEY = (REPO / "pipeline/supply_chain/image_signing_keys/dev.pub").read_text()
PUBLIC_KEYS = {
    "ok-committed-key": (PUBLIC_KEY, True),
    "ok-empty": ("", True),  # no key: the instance refuses every image (verify-image)
    "heredoc-end": (PUBLIC_KEY + "PUBLIC_KEY\nreboot\n", False),
    "private-key": (PUBLIC_KEY.replace("PUBLIC", "PRIVATE"), False),
    "dollar": (PUBLIC_KEY.replace("\n-----END", "$(reboot)\n-----END"), False),
}

PORTS = {"ok-8000": (8000, True), "ok-1": (1, True), "ok-65535": (65535, True)}
PORTS |= {"zero": (0, False), "too-high": (70000, False), "fraction": (8000.5, False)}

# Where each rule is written: the modules (the root stacks pass the values through unchecked,
# see test_static.test_root_stacks_pass_module_inputs_through_without_validating_them_again).
DECLARED = {
    "modules/server": {
        "model_version": MODEL_VERSIONS,
        "image": IMAGES,
        "model_bucket_name": BUCKETS,
        "port": PORTS,
        "image_signing_public_key": PUBLIC_KEYS,
    },
    "modules/bucket": {"name": BUCKETS},
}
CASES = [
    (where, variable, label)
    for where, variables in DECLARED.items()
    for variable, values in variables.items()
    for label in values
]


def required_variables(variables_tf: str) -> list[str]:
    blocks = re.findall(r'^variable "(\w+)" \{(.*?)^\}', variables_tf, re.S | re.M)
    return [name for name, body in blocks if not re.search(r"^\s*default\s*=", body, re.M)]


def validation_suite(where: str, root: Path, env: dict[str, str]) -> dict[tuple[str, str], str]:
    """One provider-free module per declaring file: its variables.tf, and one test file per case."""
    directory = root / where.replace("/", "-")
    (directory / "tests").mkdir(parents=True)
    variables_tf = (INFRA / where / "variables.tf").read_text()
    (directory / "variables.tf").write_text(variables_tf)
    base = "".join(f"  {name} = {hcl(REQUIRED[name])}\n" for name in required_variables(variables_tf))
    names = {}
    for number, (variable, label) in enumerate((v, label) for v, values in DECLARED[where].items() for label in values):
        value, ok = DECLARED[where][variable][label]
        expect = "" if ok else f"  expect_failures = [var.{variable}]\n"
        run = f"case_{number:03d}"
        names[run] = (variable, label)
        (directory / "tests" / f"{run}.tftest.hcl").write_text(
            f"variables {{\n{base}}}\n\n"
            f'run "{run}" {{\n  command = plan\n  variables {{\n    {variable} = {hcl(value)}\n  }}\n{expect}}}\n'
        )
    results, output = terraform_test(directory, env, init=False)
    assert results, output
    return {names[run]: status for run, status in results.items()}


@pytest.fixture(scope="module")
def validation_results(tmp_path_factory):
    root = tmp_path_factory.mktemp("validation")
    env = terraform_env(root)
    with ThreadPoolExecutor(max_workers=len(DECLARED)) as pool:
        futures = {where: pool.submit(validation_suite, where, root, env) for where in DECLARED}
        return {where: future.result() for where, future in futures.items()}


@pytest.mark.parametrize(("where", "variable", "label"), CASES, ids=["-".join(c) for c in CASES])
def test_release_inputs_are_validated_where_they_are_declared(validation_results, where, variable, label):
    """ok-* values plan; every other value fails the plan, through the validation of that variable."""
    value, ok = DECLARED[where][variable][label]
    status = validation_results[where].get((variable, label))
    verdict = "accepted" if ok else "refused by its validation"
    assert status == "pass", f"infra/{where}: {variable} = {value!r} should be {verdict} (terraform test: {status})"


# --- 2. the user data ---------------------------------------------------------------------------


def render(env: dict[str, str], cwd: Path, **values):
    arguments = ", ".join(f"{name} = {hcl(value)}" for name, value in values.items())
    out = terraform(["console"], cwd, env, stdin=f'base64encode(templatefile("{TEMPLATE}", {{{arguments}}}))\n')
    if out.returncode != 0:
        return None, out.stdout + out.stderr
    return base64.b64decode(out.stdout.strip().strip('"')).decode(), out.stderr


RELEASE = {
    "image": IMAGE,
    "registry": IMAGE.split("/")[0],
    "model_version": "aaaaaaaaaaaa",
    "model_bucket": "sentiment-api-dev-models",
    "region": "eu-west-1",
    "port": 8000,
    "service_port": 8001,
    "service": "sentiment-api-dev",
    "log_group": "sentiment-api-dev/service",
    "environment": "dev",
    "image_signing_public_key": PUBLIC_KEY,
    "verify_image": (TEMPLATE.with_name("verify-image.py")).read_text(),
}
# Valid (the variables' validation accepts them) but as awkward as validation allows.
AWKWARD_RELEASES = {
    "ecr": RELEASE,
    "local-registry-dirty-tag": RELEASE
    | {
        "image": "127.0.0.1:5000/it-0a1b2c3d-local:0123456789ab-dirty0a1b2c3d-aaaaaaaaaaaa",
        "registry": "127.0.0.1:5000",
    },
    "tag-and-digest": RELEASE
    | {"image": f"registry.example.com:443/team/app:V1.2_3@{DIGEST}", "registry": "registry.example.com:443"},
    "dotted-bucket-low-port": RELEASE | {"model_bucket": "models.example.com", "port": 1},
}
# What a value would need to leave its place: end the heredoc, add a unit directive, run a command.
HOSTILE = {
    "model_version-heredoc-end": ("model_version", "aaaaaaaaaaaa\nUNIT\nreboot\ncat <<'UNIT'"),
    "image-unit-directive": ("image", IMAGE + "\nExecStartPre=/bin/sh -c reboot"),
    "image-option": ("image", IMAGE + " --privileged"),
    "registry-command": ("registry", "r.example.com'; reboot; '"),
    "model_bucket-substitution": ("model_bucket", "models$(reboot)"),
    "model_bucket-backtick": ("model_bucket", "models`reboot`"),
    "region-semicolon": ("region", "eu-west-1;reboot"),
    "image-systemd-specifier": ("image", "registry.example.com/app:%n"),
    "port-string": ("port", "8000 -v /:/host"),
    "service-option": ("service", "sentiment-api-dev -v /:/host"),
    "log_group-log-opt": ("log_group", "sentiment-api-dev/service --log-opt awslogs-endpoint=http://evil"),
    "image_signing_public_key-heredoc-end": ("image_signing_public_key", PUBLIC_KEY + "PUBLIC_KEY\nreboot\n"),
}
HEREDOC = re.compile(r"^cat > /etc/systemd/system/sentiment\.service <<'UNIT'\n(.*?)^UNIT$", re.S | re.M)
KEY_HEREDOC = re.compile(r"^cat > /etc/sentiment/image-signing\.pub <<'PUBLIC_KEY'\n(.*?)^PUBLIC_KEY$", re.S | re.M)
VERIFY_HEREDOC = re.compile(r"^cat > /usr/local/bin/verify-image <<'VERIFY_IMAGE'\n(.*?)^VERIFY_IMAGE$", re.S | re.M)
PROXY_HEREDOC = re.compile(r"^cat > /etc/haproxy/haproxy\.cfg <<'HAPROXY'\n(.*?)^HAPROXY$", re.S | re.M)


@pytest.mark.parametrize("case", HOSTILE)
def test_user_data_refuses_a_value_that_would_need_quoting(case, tmp_path):
    """Rendering fails rather than write a value that could leave the heredoc, the unit or a command."""
    name, value = HOSTILE[case]
    rendered, log = render(terraform_env(tmp_path), tmp_path, **(RELEASE | {name: value}))
    assert rendered is None, f"rendered with {name} = {value!r}:\n{rendered}"
    assert f"user_data refuses {name}" in " ".join(log.split()), log


@needs_shellcheck
@pytest.mark.parametrize("case", AWKWARD_RELEASES)
def test_rendered_user_data_is_clean_and_keeps_its_shape(case, tmp_path):
    values = AWKWARD_RELEASES[case]
    rendered, log = render(terraform_env(tmp_path), tmp_path, **values)
    assert rendered is not None, log
    script = tmp_path / "user_data.sh"
    script.write_text(rendered)
    check = subprocess.run(["shellcheck", "--shell=bash", str(script)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    # The shell runs exactly the template's commands; every value sits inside the unit.
    (unit,) = HEREDOC.findall(rendered)
    (proxy,) = PROXY_HEREDOC.findall(rendered)
    (key,) = KEY_HEREDOC.findall(rendered)
    (verifier,) = VERIFY_HEREDOC.findall(rendered)
    assert key == values["image_signing_public_key"] + "\n" and verifier == values["verify_image"] + "\n"
    shell = rendered
    for heredoc in (HEREDOC, PROXY_HEREDOC, KEY_HEREDOC, VERIFY_HEREDOC):
        shell = heredoc.sub("", shell)
    commands = [ln for ln in shell.splitlines() if ln.strip() and not ln.startswith("#")]
    assert commands == [
        "set -euo pipefail",
        "dnf install -y docker haproxy",
        "systemctl enable --now docker",
        "mkdir -p /etc/sentiment",
        "chmod 0755 /usr/local/bin/verify-image",
        "systemctl daemon-reload",
        "systemctl enable --now sentiment.service haproxy.service",
    ]
    assert f"    bind :{values['port']}\n" in proxy and f"127.0.0.1:{values['service_port']} check" in proxy
    # The image's signature is checked before it is pulled: a failed check fails the unit (Restart retries it).
    verify = f"ExecStartPre=/usr/local/bin/verify-image {values['image']} /etc/sentiment/image-signing.pub "
    verify += f"--ecr-region {values['region']}\n"
    pull = f"ExecStartPre=/usr/bin/docker pull {values['image']}\n"
    assert verify in unit and pull in unit and unit.index(verify) < unit.index(pull)
    assert f"-e MODEL_VERSION={values['model_version']} -e MODEL_BUCKET_NAME={values['model_bucket']} " in unit
    assert f"--password-stdin {values['registry']}'\n" in unit
    assert f"-p 127.0.0.1:{values['service_port']}:8000 " in unit
    # The container's output (and its EMF metric lines, named by EMF_SERVICE) goes to the environment's log group.
    assert f"--log-driver=awslogs --log-opt awslogs-region={values['region']} " in unit
    assert f"--log-opt awslogs-group={values['log_group']} " in unit and "awslogs-create-group=false " in unit
    assert f"-e EMF_SERVICE={values['service']} " in unit
    # the service refuses a model whose signature does not verify with the environment's committed key
    assert f"-e PROJECT_ENV={values['environment']} -e MODEL_SIGNATURE_REQUIRED=true " in unit
    directives = [ln.split("=", 1)[0] for ln in unit.splitlines() if re.match(r"^[A-Za-z]+=", ln)]
    assert directives == [
        "Description", "After", "Requires", "Restart", "RestartSec",
        "ExecStartPre", "ExecStartPre", "ExecStartPre", "ExecStartPre", "ExecStart", "ExecStop", "WantedBy",
    ]  # fmt: skip


# --- 3-5. HTTPS, /metrics, IAM, registry lifecycle: the terraform test suites ---------------------

# Root-stack cases a .tftest.hcl cannot state: a module's precondition must fail the plan
# (expect_failures takes only the root module's objects). Written into the copy of infra/service.
REFUSED_AT_THE_ROOT = {
    "prod_one_server_open_to_the_world": {"environment": "prod", "allowed_cidrs": ["0.0.0.0/0"]},
    "qa_one_server_open_to_the_world": {"environment": "qa", "allowed_cidrs": ["0.0.0.0/0"]},
    "prod_load_balancer_without_certificate": {"environment": "prod", "replicas": 2, "allowed_cidrs": ["0.0.0.0/0"]},
    "qa_load_balancer_without_certificate": {"environment": "qa", "replicas": 3, "allowed_cidrs": ["203.0.113.0/24"]},
}
SUITES = {  # directory -> extra `terraform test` arguments
    "modules/server": [],
    "modules/container_registry": [],
    "service": ["-var-file=env/prod.tfvars"],  # the prod file as it is; runs set their environment
}


def root_refusal_cases(service: Path) -> None:
    for name, variables in REFUSED_AT_THE_ROOT.items():
        body = "".join(f"    {k} = {json.dumps(v)}\n" for k, v in variables.items())
        (service / "tests" / f"refused_{name}.tftest.hcl").write_text(
            'mock_provider "aws" {\n  source = "../modules/server/tests/mocks"\n}\n\n'
            f"variables {{\n{''.join(f'  {k} = {hcl(v)}' + chr(10) for k, v in ROOT_RELEASE.items())}}}\n\n"
            f'run "{name}" {{\n  command = plan\n  variables {{\n{body}  }}\n}}\n'
        )


ROOT_RELEASE = {k: REQUIRED[k] for k in ("project_name", "region", "image", "model_version", "model_bucket_name")}
ROOT_RELEASE |= {k: REQUIRED[k] for k in ("model_bucket_arn", "model_bucket_kms_key_arn", "repository_arn")}


@pytest.fixture(scope="module")
def suites(tmp_path_factory):
    root = tmp_path_factory.mktemp("suites")
    copy = root / "infra"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "*.tfplan"))
    (copy / "service" / "tests").mkdir(exist_ok=True)
    root_refusal_cases(copy / "service")
    env = terraform_env(root)
    with ThreadPoolExecutor(max_workers=len(SUITES)) as pool:
        futures = {where: pool.submit(terraform_test, copy / where, env, *args) for where, args in SUITES.items()}
        return {where: future.result() for where, future in futures.items()}


def assert_runs_pass(suites, where: str, *runs: str) -> None:
    results, output = suites[where]
    failed = {run: results.get(run, "missing") for run in runs if results.get(run) != "pass"}
    assert not failed, f"infra/{where}: {failed}\n{output[-6000:]}"


@with_provider
def test_server_module_validates_the_release_in_a_plan(suites):
    assert_runs_pass(
        suites,
        "modules/server",
        "a_release_as_the_pipeline_builds_it_plans",
        "values_that_would_break_out_of_the_user_data_are_refused",
    )


@with_provider
def test_qa_and_prod_serve_only_over_https(suites):
    assert_runs_pass(
        suites,
        "modules/server",
        "https_required_load_balancer_without_a_certificate_is_refused",
        "https_required_one_server_is_refused_any_ingress",
        "https_required_one_server_without_ingress_is_fine",
        "https_required_load_balancer_with_a_certificate_serves_https_and_redirects_http",
        "dev_one_server_may_still_serve_plain_http_to_named_networks",
    )
    assert_runs_pass(
        suites,
        "service",
        "prod_with_a_certificate_and_replicas_serves",
        "dev_one_server_for_named_networks_plans",
        "local_as_configured_plans",
    )


@with_provider
def test_no_environment_serves_plain_http_to_the_whole_internet(suites):
    assert_runs_pass(
        suites,
        "modules/server",
        "plain_http_open_to_the_world_is_refused",
        "plain_http_load_balancer_open_to_the_world_is_refused",
        "https_load_balancer_open_to_the_world_serves",
    )
    for tfvars in sorted(INFRA.glob("*/env/*.tfvars")):
        settings = [line.split("#", 1)[0] for line in tfvars.read_text().splitlines()]
        assert not any("/0" in line for line in settings if "allowed_cidrs" in line), tfvars


@with_provider
@pytest.mark.parametrize("case", REFUSED_AT_THE_ROOT)
def test_the_service_stack_refuses_plain_http_in_qa_and_prod(suites, case):
    results, output = suites["service"]
    assert results.get(case) == "fail", f"{case}: {results.get(case)} (expected the plan to fail)\n{output[-4000:]}"
    block = output[output.index(f'run "{case}"') :]
    assert "HTTPS is required here (qa/prod)" in " ".join(block.split()[:400]), block[:3000]


@with_provider
def test_prod_takes_no_ingress_unless_configured(suites):
    assert_runs_pass(suites, "service", "prod_as_configured_takes_no_ingress")


@with_provider
def test_metrics_is_not_served_by_the_load_balancer(suites):
    assert_runs_pass(suites, "modules/server", "metrics_answer_404_at_the_load_balancer")


@with_provider
def test_server_role_reads_only_models_and_the_champion(suites):
    assert_runs_pass(suites, "modules/server", "server_reads_only_models_and_the_champion")


@with_provider
def test_registry_lifecycle_never_expires_a_tagged_image(suites):
    assert_runs_pass(suites, "modules/container_registry", "only_untagged_images_expire")


@with_provider
def test_service_logs_are_kept_encrypted_and_written_only_by_the_instance_role(suites):
    assert_runs_pass(
        suites,
        "modules/server",
        "log_group_is_kept_and_encrypted",
        "instance_role_only_writes_its_streams",
        "nonfinite_alarm_names_the_emf_metric_of_each_release",
        "retention_must_be_a_cloudwatch_period",
    )


@with_provider
def test_one_server_mode_is_blue_green_behind_one_elastic_ip(suites):
    assert_runs_pass(
        suites,
        "modules/server",
        "blue_green_the_address_follows_the_live_slot_and_the_other_is_parked",
        "blue_green_without_a_standby_is_one_instance",
        "blue_green_a_slot_other_than_blue_or_green_is_refused",
        "blue_green_a_standby_with_replicas_above_one_is_refused",
    )
