"""The training output directory: what `train --out` may replace, and how it swaps the new artifact in."""

import json

import pytest

from pipeline.ml.hyperparameters import OutputDirError, check_output_dir, replace_dir


def _artifact(directory, **extra_files):
    directory.mkdir()
    files = {"model.tflite": "m", "vocabulary.json": "{}", "model.keras": "k", **extra_files}
    for name, body in files.items():
        (directory / name).write_text(body)
    metadata = {
        "schema": 3,
        "version": "0123456789ab",
        "files": dict.fromkeys(["model.tflite", "vocabulary.json", "model.keras"], "x"),
    }
    (directory / "metadata.json").write_text(json.dumps(metadata))
    return directory


def test_an_empty_or_missing_directory_and_a_previous_artifact_may_be_replaced(tmp_path):
    check_output_dir(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    check_output_dir(tmp_path / "empty")
    check_output_dir(_artifact(tmp_path / "candidate", **{"blessing.json": "{}"}))


@pytest.mark.parametrize(
    "plant",
    [
        lambda d: (d / "metadata.json").write_text("{}"),  # a metadata.json alone proves nothing
        lambda d: (d / "metadata.json").write_text('{"version": "x", "files": {}}'),
        lambda d: (d / "metadata.json").write_text("not json"),
    ],
)
def test_a_directory_whose_metadata_is_not_an_artifacts_is_refused(tmp_path, plant):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "thesis.txt").write_text("months of work")
    plant(out)
    with pytest.raises(OutputDirError, match="refusing to replace it"):
        check_output_dir(out)


def test_an_artifact_directory_holding_someone_elses_files_is_refused(tmp_path):
    out = _artifact(tmp_path / "candidate", **{"thesis.txt": "months of work"})
    with pytest.raises(OutputDirError, match=r"not part of its model artifact \(thesis.txt\)"):
        check_output_dir(out)
    (out / "thesis.txt").unlink()
    (out / "data").mkdir()
    with pytest.raises(OutputDirError, match="data"):
        check_output_dir(out)


def test_replacing_swaps_the_new_artifact_in_and_never_touches_a_sibling_named_old(tmp_path):
    out = _artifact(tmp_path / "candidate")
    sibling = tmp_path / "candidate.old"
    sibling.mkdir()
    (sibling / "keep.txt").write_text("someone's")
    new = tmp_path / "work"
    new.mkdir()
    (new / "metadata.json").write_text("new")
    replace_dir(new, out)
    assert (out / "metadata.json").read_text() == "new" and not new.exists()
    assert (sibling / "keep.txt").read_text() == "someone's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["candidate", "candidate.old"]
