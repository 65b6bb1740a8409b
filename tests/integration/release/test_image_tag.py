"""The image tag's code part: the commit, plus a hash of anything not committed that the build would pick up."""

import subprocess

from pipeline.release import image_tag


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_uncommitted_changes_and_untracked_files_mark_the_revision_dirty(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / ".gitignore").write_text("artifacts/\n")
    (repo / "app.py").write_text("x = 1\n")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    monkeypatch.setattr(image_tag, "PROJECT_DIR", repo)
    sha = "0123456789abcdef"

    assert image_tag.code_revision(sha) == "0123456789ab"
    (repo / "artifacts").mkdir()
    (repo / "artifacts" / "model.bin").write_text("ignored by git, not part of the code")
    assert image_tag.code_revision(sha) == "0123456789ab"

    (repo / "new_module.py").write_text("y = 2\n")
    with_new_file = image_tag.code_revision(sha)
    assert with_new_file.startswith("0123456789ab-dirty")
    (repo / "new_module.py").write_text("y = 3\n")
    assert image_tag.code_revision(sha) not in (with_new_file, "0123456789ab"), "the untracked file's content counts"

    (repo / "new_module.py").unlink()
    (repo / "app.py").write_text("x = 2\n")
    assert image_tag.code_revision(sha).startswith("0123456789ab-dirty")
