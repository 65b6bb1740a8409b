"""Item 7 of issue 28: a capability an environment lacks is one loud line, never a silent None/False."""

from pathlib import Path

import pytest

from pipeline.environments.base import CapabilityError, Environment
from pipeline.release import rollback
from pipeline.settings import PipelineSettings


class Bare(Environment):
    """An environment kind that implements only what every kind must."""

    smoke_deadline_s = 1.0
    may_destroy = False
    serves_without_image = False
    tls_only_buckets = True

    def connect(self): ...
    def image_destination(self, engine): ...
    def image_digest(self, destination, tag): ...
    def image_repository(self): ...
    def image_registry_access(self, registry, repository): ...
    def serve(self, release, infrastructure_url, rollout=None): ...
    def stop_release(self):
        return False


@pytest.fixture
def bare(tmp_path: Path) -> Bare:
    return Bare(PipelineSettings(project_env="qa", artifacts_dir=tmp_path, _env_file=None))


@pytest.mark.parametrize(
    ("capability", "says"),
    [
        ("parked_release", "environment qa cannot keep a previous release parked"),
        ("restore_previous", "environment qa cannot restore a parked release"),
        ("retire_previous", "environment qa cannot retire a parked release"),
    ],
)
def test_a_missing_capability_raises_one_line_naming_the_environment(bare, capability, says):
    with pytest.raises(CapabilityError) as raised:
        getattr(bare, capability)()
    assert str(raised.value) == says and "\n" not in str(raised.value)
    assert raised.value.exit_code == 2


def test_a_rollback_in_such_an_environment_redeploys_instead_and_says_why(bare):
    said = []
    target = {"version": "aaaaaaaaaaaa", "image": "r.example.com/app:a"}
    assert rollback._restore_parked(bare, target, said.append) is None
    assert said == ["environment qa cannot keep a previous release parked: redeploying instead"]
