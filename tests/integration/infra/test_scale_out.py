"""The service stack's two modes and the AWS side of progressive delivery, against a real moto_server
and real Terraform, on one stack, in order:

1. The user data as the plan renders it for the one-server mode passes the tools that will run it:
   shellcheck (the script), systemd-analyze verify (its unit) and haproxy -c (the proxy in front).
2. One server, then replicas = 3 (ALB + Auto Scaling group), a no-op re-plan and a rolling update
   on a new image tag. The emulator's instances never boot and it has no instance refresh
   (`instance_refresh = false` in local.tfvars), so the checks read the launch template and the
   group, not the instances.
3. A candidate: the listener forwards to two target groups with the weights of the Terraform
   variable `candidate` (one source of truth), applied and read back through the ELBv2 API for each
   delivery step, then promoted. No request is ever split here: only the configuration is checked.
4. A clean destroy. About four minutes (the provider waits ~1 min for the load balancer).
"""

import base64
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
from pipeline.environments import emulator as localaws
from pipeline.errors import StageError
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
def deployment(tmp_path_factory, monkeypatch_module):
    root = tmp_path_factory.mktemp("scale-out")
    emulator = localaws.up(root / "localaws")
    monkeypatch_module.setenv("AWS_ENDPOINT_URL", localaws.endpoint_of(emulator))
    for key, value in localaws.environment(REGION, localaws.endpoint_of(emulator)).items():
        monkeypatch_module.setenv(key, value)
    settings = PipelineSettings(
        project_name=f"so-{uuid.uuid4().hex[:8]}", project_env="local", artifacts_dir=root / "artifacts", _env_file=None
    )
    tf = stacks.stack(environments.current(settings), "service", print)
    ec2 = boto3.client("ec2", region_name=REGION)
    autoscaling = boto3.client("autoscaling", region_name=REGION)
    yield {"tf": tf, "settings": settings, "ec2": ec2, "autoscaling": autoscaling, "plan": root / "plan", "root": root}
    localaws.down(root / "localaws")


@pytest.fixture(scope="module")
def monkeypatch_module():
    patcher = pytest.MonkeyPatch()
    yield patcher
    patcher.undo()


def variables(settings, replicas, tag="aaaaaaaaaaaa", candidate=None):
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


def apply(state, replicas, tag="aaaaaaaaaaaa"):
    tf = state["tf"]
    changed = tf.plan(variables(state["settings"], replicas, tag), state["plan"])
    tf.apply(state["plan"])
    return changed, tf.outputs()


def test_the_planned_user_data_passes_shellcheck_systemd_analyze_and_haproxy(deployment):
    tf = deployment["tf"]
    tf.plan(variables(deployment["settings"], 1), deployment["plan"])
    plan = json.loads(tf.run("show", "-json", str(deployment["plan"]), quiet=True).stdout)
    # The instance's own attribute is a hash in the plan; the stack's output is the text it hashes.
    (instance,) = [r for r in plan["resource_changes"] if r["address"] == 'module.server.aws_instance.this["blue"]']
    user_data = plan["output_changes"]["user_data"]["after"]
    assert instance["change"]["after"]["user_data"] == hashlib.sha1(user_data.encode()).hexdigest()
    root: Path = deployment["root"]
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


def test_systemd_analyze_rejects_a_broken_unit(tmp_path):
    """The check above is not blind: an unknown directive and a relative command are reported."""
    (tmp_path / "docker.service").write_text("[Unit]\nDescription=stand-in\n[Service]\nExecStart=/bin/true\n")
    unit = tmp_path / "sentiment.service"
    unit.write_text("[Unit]\nRequires=docker.service\n[Service]\nExecStart=docker run x\nRestartSecs=5\n")
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
        env={"SYSTEMD_UNIT_PATH": f"{tmp_path}:", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert "Unknown key 'RestartSecs'" in verify.stderr


def test_one_replica_is_one_instance_behind_an_elastic_ip(deployment):
    _, outputs = apply(deployment, 1)
    assert outputs["instance_id"].startswith("i-") and outputs.get("autoscaling_group_name") is None
    attribute = deployment["ec2"].describe_instance_attribute(InstanceId=outputs["instance_id"], Attribute="userData")
    deployment["single_user_data"] = base64.b64decode(attribute["UserData"]["Value"]).decode()
    assert "docker pull " + IMAGE.format(tag="aaaaaaaaaaaa") in deployment["single_user_data"]


def test_three_replicas_are_an_autoscaling_group_behind_a_load_balancer(deployment):
    _, outputs = apply(deployment, 3)
    assert outputs.get("instance_id") is None
    assert outputs["endpoint_url"].startswith("http://") and "elb" in outputs["endpoint_url"]
    group = deployment["autoscaling"].describe_auto_scaling_groups(
        AutoScalingGroupNames=[outputs["autoscaling_group_name"]]
    )["AutoScalingGroups"][0]
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (3, 3, 3)
    assert group["HealthCheckType"] == "ELB" and len(group["TargetGroupARNs"]) == 1
    template = deployment["ec2"].describe_launch_template_versions(
        LaunchTemplateId=group["LaunchTemplate"]["LaunchTemplateId"], Versions=["$Latest"]
    )["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert template["MetadataOptions"]["HttpTokens"] == "required"
    assert template["IamInstanceProfile"]["Name"].endswith("-server")
    assert template["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    assert base64.b64decode(template["UserData"]).decode() == deployment["single_user_data"], "one template, two modes"
    deployment["group"] = group


def test_servers_take_the_service_port_only_from_the_load_balancer(deployment):
    ec2 = deployment["ec2"]
    name = deployment["settings"].project_name
    groups = {
        g["GroupName"]: g for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"].startswith(name)
    }
    server, alb = groups[f"{name}-local-server"], groups[f"{name}-local-alb"]
    (rule,) = server["IpPermissions"]
    assert rule["FromPort"] == 8000 and not rule.get("IpRanges")
    assert [p["GroupId"] for p in rule["UserIdGroupPairs"]] == [alb["GroupId"]]
    assert [(p["FromPort"], p["IpRanges"][0]["CidrIp"]) for p in alb["IpPermissions"]] == [(80, "127.0.0.1/32")]


def test_a_second_plan_changes_nothing(deployment):
    tf = deployment["tf"]
    changed = tf.plan(variables(deployment["settings"], 3), deployment["plan"])
    diff = [ln for ln in tf.run("show", str(deployment["plan"]), quiet=True).stdout.splitlines() if ln.strip()]
    assert changed is False, "\n".join(diff[:80])


def test_a_new_image_tag_advances_the_launch_template_the_group_runs(deployment):
    before = deployment["group"]["LaunchTemplate"]
    _, outputs = apply(deployment, 3, tag="bbbbbbbbbbbb")
    group = deployment["autoscaling"].describe_auto_scaling_groups(
        AutoScalingGroupNames=[outputs["autoscaling_group_name"]]
    )["AutoScalingGroups"][0]
    assert int(outputs["launch_template_version"]) == int(before["Version"]) + 1
    assert group["LaunchTemplate"]["Version"] == str(outputs["launch_template_version"])


def listener_weights(settings) -> dict[str, int]:
    elbv2 = boto3.client("elbv2", region_name=REGION)
    (balancer,) = [
        b
        for b in elbv2.describe_load_balancers()["LoadBalancers"]
        if b["LoadBalancerName"].startswith(settings.project_name)
    ]
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    (action,) = listener["DefaultActions"]
    names = {g["TargetGroupArn"]: g["TargetGroupName"] for g in elbv2.describe_target_groups()["TargetGroups"]}
    return {names[g["TargetGroupArn"]]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]}


def test_the_listener_splits_traffic_as_the_terraform_variable_says(deployment):
    tf, settings = deployment["tf"], deployment["settings"]
    name = f"{settings.project_name}-local"
    live, candidate_group = f"{name}-tg", f"{name[:26]}-cand"
    # The group runs tag bbbb (the test above); the candidate is a release of tag cccc.
    candidate = {"image": IMAGE.format(tag="cccccccccccc"), "model_version": "cccccccccccc", "weight": 10}
    seen = []
    for weight in (10, 50, 100):  # the steps of quality_gates/delivery.toml
        tf.plan(variables(settings, 2, "bbbbbbbbbbbb", {**candidate, "weight": weight}), deployment["plan"])
        tf.apply(deployment["plan"])
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
    replan = tf.plan(variables(settings, 2, "bbbbbbbbbbbb", {**candidate, "weight": 100}), deployment["plan"])
    assert replan is False, "re-plan changed"

    # Promotion: the live group takes the candidate's release, then the candidate goes.
    tf.plan(variables(settings, 2, "cccccccccccc"), deployment["plan"])
    tf.apply(deployment["plan"])
    assert listener_weights(settings) == {live: 100, candidate_group: 0}
    assert f"{name}-candidate" not in {
        g["AutoScalingGroupName"] for g in autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
    }


def test_a_weight_outside_0_to_100_is_refused_at_plan(deployment):
    candidate = {"image": IMAGE.format(tag="c"), "model_version": "cccccccccccc", "weight": 110}
    with pytest.raises(StageError, match=r"Invalid value for variable.*weight"):
        deployment["tf"].plan(variables(deployment["settings"], 2, "cccccccccccc", candidate), deployment["plan"])


def test_destroy_removes_everything(deployment):
    deployment["tf"].destroy(variables(deployment["settings"], 2, "cccccccccccc"))
    assert deployment["autoscaling"].describe_auto_scaling_groups()["AutoScalingGroups"] == []
    assert boto3.client("elbv2", region_name=REGION).describe_load_balancers()["LoadBalancers"] == []
