"""The project's wheel, which the image installs: built from the current sources only, reproducibly."""

import hashlib
from pathlib import Path

import pytest

from pipeline.release import wheelhouse

REPO = Path(__file__).resolve().parents[3]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_the_wheel_is_the_same_bytes_for_the_same_sources_and_drops_a_deleted_module(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    wheelhouse.copy_sources(REPO, project)
    first = wheelhouse.project_wheel(project, tmp_path / "first")

    stale = project / "src" / "sentiment" / "deleted_since.py"
    stale.write_text("GONE = True\n")
    with_module = wheelhouse.project_wheel(project, tmp_path / "with-module")
    stale.unlink()
    after_delete = wheelhouse.project_wheel(project, tmp_path / "after-delete")

    assert _sha256(with_module) != _sha256(first)
    assert _sha256(after_delete) == _sha256(first), "a deleted module, or the build time, is in the wheel"
