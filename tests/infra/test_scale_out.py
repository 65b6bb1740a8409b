"""Scale-out mode against a real moto_server: one server, then replicas = 3 (ALB + Auto Scaling group),
a no-op re-plan, a rolling update on a new image tag, and a clean destroy. About three minutes (the
provider waits ~1 min for the load balancer on any backend).

The emulator's instances never boot and it has no instance refresh (`instance_refresh = false` in
local.tfvars), so the checks read the launch template and the group, not the instances.
"""

import base64
import shutil
import uuid

import boto3
import pytest

from pipeline import environments
from pipeline.environments import emulator as localaws
from pipeline.release import stacks
from pipeline.settings import PipelineSettings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("terraform") is None, reason="NOT TESTED: terraform is not installed (>= 1.5)"),
]
REGION = "eu-west-1"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sentiment-api-local:{tag}-0123456789ab"


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
    state = {"tf": tf, "settings": settings, "ec2": ec2, "autoscaling": autoscaling, "plan": root / "plan"}
    yield state
    localaws.down(root / "localaws")


@pytest.fixture(scope="module")
def monkeypatch_module():
    patcher = pytest.MonkeyPatch()
    yield patcher
    patcher.undo()


def variables(settings, replicas, tag="aaaaaaaaaaaa"):
    return {
        **stacks.common_variables(settings),
        "image": IMAGE.format(tag=tag),
        "model_version": "0123456789ab",
        "model_bucket_name": "models",
        "model_bucket_arn": "arn:aws:s3:::models",
        "model_bucket_kms_key_arn": f"arn:aws:kms:{REGION}:123456789012:key/00000000-0000-0000-0000-000000000000",
        "repository_arn": f"arn:aws:ecr:{REGION}:123456789012:repository/sentiment-api-local",
        "replicas": replicas,
    }


def apply(state, replicas, tag="aaaaaaaaaaaa"):
    tf = state["tf"]
    changed = tf.plan(variables(state["settings"], replicas, tag), state["plan"])
    tf.apply(state["plan"])
    return changed, tf.outputs()


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


def test_destroy_removes_everything(deployment):
    deployment["tf"].destroy(variables(deployment["settings"], 3, tag="bbbbbbbbbbbb"))
    assert deployment["autoscaling"].describe_auto_scaling_groups()["AutoScalingGroups"] == []
    assert boto3.client("elbv2", region_name=REGION).describe_load_balancers()["LoadBalancers"] == []
