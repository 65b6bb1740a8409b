"""The registry's read side serves only the version asked for: a self-consistent replacement artifact
(new files, new hashes, a matching manifest) under another version's prefix is refused."""

import json

import pytest

from sentiment import artifact
from sentiment.model_registry import MANIFEST_FILE, ModelRegistryError, cached_copy, verify_against_manifest

ASKED = "0123456789ab"


def build(directory, weights: bytes):
    """An artifact consistent in itself: its version is the hash of its serving files."""
    directory.mkdir(parents=True)
    (directory / artifact.MODEL_FILE).write_bytes(weights)
    (directory / artifact.VOCABULARY_FILE).write_text("{}")
    files = {name: artifact.sha256_file(directory / name) for name in artifact.SERVING_FILES}
    version = artifact.version_from_hashes(files)
    metadata = {"schema": artifact.METADATA_SCHEMA, "version": version, "files": files}
    (directory / artifact.METADATA_FILE).write_text(json.dumps(metadata))
    hashes = {**files, artifact.METADATA_FILE: artifact.sha256_file(directory / artifact.METADATA_FILE)}
    manifest = {"schema": 1, "version": version, "files": {n: {"sha256": h} for n, h in hashes.items()}}
    return version, manifest


def test_the_version_asked_for_is_served(tmp_path):
    version, manifest = build(tmp_path / "copy", b"weights")
    assert verify_against_manifest(tmp_path / "copy", manifest, version)["version"] == version


def test_a_replacement_of_another_version_under_this_versions_prefix_is_refused(tmp_path):
    other, manifest = build(tmp_path / "copy", b"other weights")
    with pytest.raises(ModelRegistryError, match=f"of version '{other}', not {ASKED}"):
        verify_against_manifest(tmp_path / "copy", manifest, ASKED)
    # a manifest rewritten to name the asked version: the metadata still says what the model is
    with pytest.raises(ModelRegistryError, match=f"is version '{other}', not the {ASKED} asked for") as caught:
        verify_against_manifest(tmp_path / "copy", {**manifest, "version": ASKED}, ASKED)
    assert "\n" not in str(caught.value)


def test_a_cached_copy_of_another_version_is_refused(tmp_path):
    _, manifest = build(tmp_path / "cache" / ASKED, b"other weights")
    (tmp_path / "cache" / ASKED / MANIFEST_FILE).write_text(json.dumps({**manifest, "version": ASKED}))
    with pytest.raises(ModelRegistryError, match="asked for"):
        cached_copy(tmp_path / "cache", ASKED)
