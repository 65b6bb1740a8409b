"""Deploy and rollback run only images of the environment's own repository, by digest."""

import pytest

from pipeline.errors import StageError
from pipeline.release import deployment, promotion, rollback
from pipeline.release.smoke import SmokeOptions
from pipeline.supply_chain import image_signatures

OWN = "127.0.0.1:5000/sentiment-api-local"
DIGEST = "sha256:" + "a" * 64


class Environment:
    name = "local"

    def __init__(self, champion=None, own=OWN):
        self.own = own
        self.champion = champion

    def image_repository(self):
        return self.own

    def model_registry(self):
        environment = self

        class Registry:
            bucket = "models"

            def champion(self):
                return environment.champion

        return Registry()

    def parked_release(self):
        raise AssertionError("the rollback went on to plan a release")


def test_an_image_of_the_own_repository_by_digest_is_accepted():
    assert deployment.checked_image(Environment(), f"{OWN}@{DIGEST}") == f"{OWN}@{DIGEST}"


@pytest.mark.parametrize(
    "image",
    [
        f"evil.example.com/sentiment-api-local@{DIGEST}",  # another registry
        f"127.0.0.1:5000/other@{DIGEST}",  # another repository
        f"{OWN}:latest",  # by tag: what it names can change
        f"{OWN}@sha256:abc",
        f"{OWN}@{DIGEST}\nrollback: OK",
    ],
)
def test_any_other_image_is_refused_in_one_line(image):
    with pytest.raises(StageError) as caught:
        deployment.checked_image(Environment(), image)
    assert caught.value.exit_code == 2 and "\n" not in str(caught.value) and "refusing image" in str(caught.value)


def test_without_a_repository_of_its_own_no_image_is_accepted():
    with pytest.raises(StageError, match="build first"):
        deployment.checked_image(Environment(own=None), f"{OWN}@{DIGEST}")


def test_a_champion_naming_an_image_in_another_registry_is_refused_before_any_plan(tmp_path):
    champion = {"version": "0123456789ab", "image": f"evil.example.com/sentiment@{DIGEST}", "image_built": True}
    options = SmokeOptions(1.0, 1, tmp_path / "smoke.toml", tmp_path)
    with pytest.raises(StageError, match=r"refusing image 'evil\.example\.com/sentiment@"):
        rollback.roll_back(Environment(champion), None, None, options, print)


class Signed(Environment):
    """The champion's image in the environment's repository, signed with `signed_with` (a key file) or not."""

    traffic_in_terraform = False
    service_stack = None

    def __init__(self, tmp_path, champion, signed_with):
        from pipeline.settings import PipelineSettings
        from pipeline.supply_chain.keys import generate_key_pair

        super().__init__(champion)
        self.settings = PipelineSettings(project_env="local", artifacts_dir=tmp_path, _env_file=None)
        keys = tmp_path / "keys"
        generate_key_pair(keys / "image-signing.key", keys / "image-signing.pub")  # the environment's pair
        generate_key_pair(tmp_path / "other.key", tmp_path / "other.pub")
        self.uploads = {}
        if signed_with is not None:
            upload = image_signatures.signature_upload(champion["image"], (tmp_path / signed_with).read_bytes())
            self.uploads = {upload.tag: upload.manifest, **{image_signatures.digest_of(b): b for b in upload.blobs}}

    def image_registry_access(self, registry, repository):
        return self

    def reader(self):
        return image_signatures.RegistryReader(self.uploads.get, self.uploads.__getitem__)


@pytest.mark.parametrize(
    ("signed_with", "says"),
    [(None, "is unsigned"), ("other.key", "signed with another key"), ("keys/image-signing.key", None)],
)
def test_a_rollback_runs_only_an_image_signed_with_the_environments_key(tmp_path, signed_with, says):
    champion = {"version": "0123456789ab", "image": f"{OWN}@{DIGEST}", "image_built": True}
    environment = Signed(tmp_path, champion, signed_with)
    options = SmokeOptions(1.0, 1, tmp_path / "smoke.toml", tmp_path)
    if says is None:  # verified: the rollback goes on (to the parked release, which this fake refuses)
        with pytest.raises(AssertionError, match="went on to plan"):
            rollback.roll_back(environment, None, None, options, print)
        return
    with pytest.raises(StageError, match=f"^refusing to run an image that does not verify: image {OWN}@.* {says}"):
        rollback.roll_back(environment, None, None, options, print)


# --- an unchanged rerun ---------------------------------------------------------------------------


def release(**changed):
    from pipeline.records import Release

    fields = {"image": f"{OWN}@{DIGEST}", "image_built": True, "model_version": "0123456789ab", "git_sha": "0" * 40,
              "environment": "local", "model_bucket": "b", "shared": {}}  # fmt: skip
    return Release(**{**fields, **changed})


class Serving(Environment):
    def __init__(self, artifacts, serving):
        super().__init__()
        from pipeline.settings import PipelineSettings

        self.settings = PipelineSettings(artifacts_dir=artifacts)
        self.serving = serving

    def already_serving(self, candidate):
        return self.serving


def recorded(artifacts, deployed):
    from pipeline.records import Deployment

    record = Deployment(release=release(deployed=deployed), endpoint_url="http://127.0.0.1:8080", runner="process",
                        infrastructure_url="http://i", release_url="http://127.0.0.1:9000", local_pid=1)  # fmt: skip
    record.write(artifacts)
    return record


def test_a_deploy_of_the_release_that_serves_is_the_recorded_deployment(tmp_path):
    record = recorded(tmp_path, "2026-12-04T20:00:00+00:00")
    assert deployment._unchanged(Serving(tmp_path, True), release()) == record


@pytest.mark.parametrize(
    ("changed", "serving"),
    [
        ({}, False),
        ({"image": f"{OWN}@sha256:{'b' * 64}"}, True),
        ({"model_version": "ba9876543210"}, True),  # pragma: allowlist secret
    ],
)
def test_another_release_or_one_that_no_longer_serves_is_deployed(tmp_path, changed, serving):
    recorded(tmp_path, "2026-12-04T20:00:00+00:00")
    assert deployment._unchanged(Serving(tmp_path, serving), release(**changed)) is None


def test_without_a_deployment_record_there_is_nothing_unchanged(tmp_path):
    assert deployment._unchanged(Serving(tmp_path, True), release()) is None


def test_smoke_promotes_nothing_again_when_the_champion_is_this_very_deployment(tmp_path):
    record = recorded(tmp_path, "2026-12-04T20:00:00+00:00")
    same = {"version": "0123456789ab", "image": f"{OWN}@{DIGEST}", "deployed": "2026-12-04T20:00:00+00:00"}
    assert promotion.is_champion(Environment(champion=same), record)
    assert not promotion.is_champion(Environment(champion={**same, "deployed": "2026-12-05T00:00:00+00:00"}), record)
    assert not promotion.is_champion(Environment(champion=None), record)
