"""CloudWatch alarms (infra/service/alarms.tf) in a real `terraform test` with the mock provider."""

import shutil

import pytest
from test_terraform_validation import INFRA, terraform_env, terraform_test, with_provider

pytestmark = pytest.mark.slow  # two `terraform test` runs, about 30 s each

RUNS = (
    "scale_out_alarms_on_the_load_balancer_and_the_group",
    "one_server_alarms_on_its_status_checks_only",
    "no_alarm_against_the_emulator",
)


def copy_of_infra(tmp_path):
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "*.tfplan"))
    return copy


@with_provider
def test_alarms_plan_per_mode_and_notify_the_topic(tmp_path):
    service = copy_of_infra(tmp_path) / "service"
    results, output = terraform_test(service, terraform_env(tmp_path), "-filter=tests/alarms.tftest.hcl")
    assert {run: results.get(run) for run in RUNS} == dict.fromkeys(RUNS, "pass"), output[-4000:]


@with_provider
def test_an_alarm_on_the_wrong_statistic_fails_its_run(tmp_path):
    service = copy_of_infra(tmp_path) / "service"
    alarms = service / "alarms.tf"
    alarms.write_text(alarms.read_text().replace('extended_statistic  = "p99"', 'extended_statistic  = "p50"'))
    results, _ = terraform_test(service, terraform_env(tmp_path), "-filter=tests/alarms.tftest.hcl")
    assert results.get(RUNS[0]) == "fail"
