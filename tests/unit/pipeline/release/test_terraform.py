"""`terraform init` runs again only when what it depends on changed (terraform itself is not run here)."""

import pytest

from pipeline.release import terraform


@pytest.fixture
def stack(tmp_path, monkeypatch):
    infra = tmp_path / "infra"
    (infra / "service").mkdir(parents=True)
    (infra / "service" / "main.tf").write_text('module "server" { source = "../modules/server" }\n')
    monkeypatch.setattr(terraform, "INFRA", infra)
    runs = []

    def make():
        tf = terraform.Terraform("service", "local", tmp_path / "work", log=lambda m: None)

        def run(*args, **kwargs):
            runs.append(args)
            (tf.work_dir / ".terraform").mkdir(parents=True, exist_ok=True)
            (tf.work_dir / ".terraform" / "terraform.tfstate").write_text("{}")

        tf.run = run
        return tf

    make.runs = runs
    make.infra = infra
    return make


def test_a_second_init_with_the_same_inputs_is_skipped(stack):
    backend = {"bucket": "state", "key": "service/terraform.tfstate"}
    stack().init(backend)
    stack().init(backend)
    assert len(stack.runs) == 1


def test_a_changed_backend_or_configuration_initialises_again(stack):
    backend = {"bucket": "state", "key": "service/terraform.tfstate"}
    stack().init(backend)
    stack().init({**backend, "bucket": "other"})
    assert len(stack.runs) == 2
    (stack.infra / "service" / "main.tf").write_text('module "server" { source = "../modules/other" }\n')
    stack().init({**backend, "bucket": "other"})
    assert len(stack.runs) == 3


def test_a_data_directory_that_lost_its_backend_initialises_again(stack):
    backend = {"bucket": "state"}
    tf = stack()
    tf.init(backend)
    (tf.work_dir / ".terraform" / "terraform.tfstate").unlink()
    stack().init(backend)
    assert len(stack.runs) == 2


def destroy_runs(stack, failures):
    """The runs a destroy makes when its first `failures` runs fail with the given errors."""
    tf, runs = stack(), []

    def run(*args, **kwargs):
        runs.append(args)
        if len(runs) <= len(failures):
            raise terraform.StageError(failures[len(runs) - 1])

    tf.run = run
    tf.destroy({})
    return runs


def test_a_destroy_whose_delete_found_the_object_gone_runs_once_more(stack):
    gone = "deleting EC2 Launch Template (lt-1): api error InvalidLaunchTemplateName.NotFoundException"
    assert len(destroy_runs(stack, [gone])) == 2


def test_any_other_failure_of_a_destroy_stops_it(stack):
    with pytest.raises(terraform.StageError, match="AccessDenied"):
        destroy_runs(stack, ["terraform apply of infra/service failed: deleting S3 Bucket: AccessDenied"])
    with pytest.raises(terraform.StageError, match="NotFound"):
        destroy_runs(stack, ["deleting (lt-1): NotFound", "deleting (lt-1): NotFound"])
