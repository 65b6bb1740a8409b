"""The AWS side of progressive delivery, against a real moto_server and real Terraform.

1. The user data as the plan renders it for the one-server mode passes the tools that will run it:
   shellcheck (the script), systemd-analyze verify (its unit) and haproxy -c (the proxy in front).
2. Scale-out mode with a candidate: the listener forwards to two target groups with the weights of
   the Terraform variable `candidate` (one source of truth), applied and read back through the
   ELBv2 API for each delivery step, then removed. The emulator's instances never boot, so no
   request is ever split here: only the configuration is checked. About two minutes (the provider
   waits ~1 min for the load balancer).
"""

import hashlib
import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import boto3
import pytest

from pipeline import environments
from pipeline.cli import StageError
from pipeline.environments import emulator as localaws
from pipeline.release import stacks
from pipeline.settings import PipelineSettings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("terraform") is None, reason="NOT TESTED: terraform is not installed (>= 1.5)"),
]
REGION = "eu-west-1"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sentiment-api-local:{tag}-0123456789ab"
UNIT = re.compile(r"^cat > /etc/systemd/system/sentiment\.service <<'UNIT'\n(.*?)^UNIT$", re.S | re.M)
PROXY = re.compile(r"^cat > /etc/haproxy/haproxy\.cfg <<'HAPROXY'\n(.*?)^HAPROXY$", re.S | re.M)
HAPROXY = shutil.which("haproxy", path="/usr/sbin:/usr/bin")


@pytest.fixture(scope="module")
def monkeypatch_module():
    patcher = pytest.MonkeyPatch()
    yield patcher
    patcher.undo()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, monkeypatch_module):
    root = tmp_path_factory.mktemp("delivery-aws")
    emulator = localaws.up(root / "localaws")
    for key, value in localaws.environment(REGION, localaws.endpoint_of(emulator)).items():
        monkeypatch_module.setenv(key, value)
    settings = PipelineSettings(
        project_name=f"dl-{uuid.uuid4().hex[:8]}", project_env="local", artifacts_dir=root / "artifacts", _env_file=None
    )
    tf = stacks.stack(environments.current(settings), "service", print)
    yield {"tf": tf, "settings": settings, "plan": root / "plan", "root": root}
    localaws.down(root / "localaws")


def variables(settings, replicas, candidate=None, tag="aaaaaaaaaaaa"):
    return {
        **stacks.common_variables(settings),
        "image": IMAGE.format(tag=tag),
        "model_version": "0123456789ab",
        "model_bucket_name": "models",
        "model_bucket_arn": "arn:aws:s3:::models",
        "model_bucket_kms_key_arn": f"arn:aws:kms:{REGION}:123456789012:key/00000000-0000-0000-0000-000000000000",
        "repository_arn": f"arn:aws:ecr:{REGION}:123456789012:repository/sentiment-api-local",
        "replicas": replicas,
        "candidate": candidate,
    }


def planned(stack, replicas, candidate=None) -> dict:
    tf = stack["tf"]
    tf.plan(variables(stack["settings"], replicas, candidate), stack["plan"])
    return json.loads(tf.run("show", "-json", str(stack["plan"]), quiet=True).stdout)


def test_the_planned_user_data_passes_shellcheck_systemd_analyze_and_haproxy(stack):
    plan = planned(stack, 1)
    # The instance's own attribute is a hash in the plan; the stack's output is the text it hashes.
    (instance,) = [r for r in plan["resource_changes"] if r["address"] == "module.server.aws_instance.this[0]"]
    user_data = plan["output_changes"]["user_data"]["after"]
    assert instance["change"]["after"]["user_data"] == hashlib.sha1(user_data.encode()).hexdigest()
    root: Path = stack["root"]
    script = root / "user_data.sh"
    script.write_text(user_data)
    if shutil.which("shellcheck") is None:
        pytest.skip("NOT TESTED: shellcheck is not installed (apt-get install shellcheck)")
    check = subprocess.run(["shellcheck", "--shell=bash", str(script)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    (unit,) = UNIT.findall(user_data)
    units = root / "units"
    units.mkdir()
    (units / "sentiment.service").write_text(unit)
    # docker.service comes with the docker package on the instance: a stand-in, so the dependency resolves.
    (units / "docker.service").write_text("[Unit]\nDescription=stand-in\n[Service]\nExecStart=/bin/true\n")
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(units / "sentiment.service")],
        capture_output=True, text=True, env={"SYSTEMD_UNIT_PATH": f"{units}:", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    problems = verify.stdout.splitlines() + verify.stderr.splitlines()
    if not Path("/usr/bin/docker").exists():  # the AMI gets it from `dnf install docker`; this machine may not
        problems = [p for p in problems if "Command /usr/bin/docker is not executable" not in p]
    assert problems == [], "\n".join(problems)

    (proxy,) = PROXY.findall(user_data)
    if HAPROXY is None:
        pytest.skip("NOT TESTED: haproxy is not installed")
    (root / "haproxy.cfg").write_text(proxy)
    checked = subprocess.run([HAPROXY, "-c", "-f", str(root / "haproxy.cfg")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_systemd_analyze_rejects_a_broken_unit(stack, tmp_path):
    """The check above is not blind: an unknown directive and a relative command are reported."""
    (tmp_path / "docker.service").write_text("[Unit]\nDescription=stand-in\n[Service]\nExecStart=/bin/true\n")
    unit = tmp_path / "sentiment.service"
    unit.write_text("[Unit]\nRequires=docker.service\n[Service]\nExecStart=docker run x\nRestartSecs=5\n")
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
        env={"SYSTEMD_UNIT_PATH": f"{tmp_path}:", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert "Unknown key 'RestartSecs'" in verify.stderr


def listener_weights(settings) -> dict[str, int]:
    elbv2 = boto3.client("elbv2", region_name=REGION)
    (balancer,) = [
        b for b in elbv2.describe_load_balancers()["LoadBalancers"] if b["LoadBalancerName"].startswith("dl-")
    ]
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    (action,) = listener["DefaultActions"]
    names = {g["TargetGroupArn"]: g["TargetGroupName"] for g in elbv2.describe_target_groups()["TargetGroups"]}
    return {names[g["TargetGroupArn"]]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]}


def test_the_listener_splits_traffic_as_the_terraform_variable_says(stack):
    tf, settings = stack["tf"], stack["settings"]
    name = f"{settings.project_name}-local"
    live, candidate_group = f"{name}-tg", f"{name[:26]}-cand"
    candidate = {"image": IMAGE.format(tag="bbbbbbbbbbbb"), "model_version": "bbbbbbbbbbbb", "weight": 10}
    seen = []
    for weight in (10, 50, 100):  # the steps of quality_gates/delivery.toml
        tf.plan(variables(settings, 2, {**candidate, "weight": weight}), stack["plan"])
        tf.apply(stack["plan"])
        assert tf.outputs()["traffic_weights"] == {"live": 100 - weight, "candidate": weight}
        seen.append(listener_weights(settings))
    assert seen == [
        {live: 90, candidate_group: 10},
        {live: 50, candidate_group: 50},
        {live: 0, candidate_group: 100},
    ]
    autoscaling = boto3.client("autoscaling", region_name=REGION)
    groups = {g["AutoScalingGroupName"]: g for g in autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]}
    assert groups[f"{name}-candidate"]["DesiredCapacity"] == 2
    assert tf.plan(variables(settings, 2, {**candidate, "weight": 100}), stack["plan"]) is False, "re-plan changed"

    # Promotion: the live group takes the candidate's release, then the candidate goes.
    tf.plan(variables(settings, 2, None, tag="bbbbbbbbbbbb"), stack["plan"])
    tf.apply(stack["plan"])
    assert listener_weights(settings) == {live: 100, candidate_group: 0}
    assert f"{name}-candidate" not in {
        g["AutoScalingGroupName"] for g in autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
    }


def test_a_weight_outside_0_to_100_is_refused_at_plan(stack):
    with pytest.raises(StageError, match=r"Invalid value for variable.*weight"):
        stack["tf"].plan(
            variables(stack["settings"], 2, {"image": IMAGE.format(tag="b"), "model_version": "bbbbbbbbbbbb",
                                             "weight": 110}),
            stack["plan"],
        )  # fmt: skip


def test_destroy(stack):
    stack["tf"].destroy(variables(stack["settings"], 2, None, tag="bbbbbbbbbbbb"))
    assert boto3.client("elbv2", region_name=REGION).describe_load_balancers()["LoadBalancers"] == []
