"""Publish, list, fetch, verify, promote, and the failure cases, against a real emulator."""

import json
import os
import shutil
import signal
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from pipeline.errors import StageError
from pipeline.model_registry import ModelRegistryWriter
from pipeline.stages.publish import publishable_files
from sentiment import artifact
from sentiment.loader import load_model
from sentiment.model_registry import ModelRegistry, ModelRegistryError, version_prefix

pytestmark = pytest.mark.slow
QUALITY_GATES = Path(__file__).resolve().parents[3] / "quality_gates"
THRESHOLDS = QUALITY_GATES / "thresholds.toml"


def candidate(blessed):
    model, reports = blessed
    return publishable_files(model, reports, THRESHOLDS, QUALITY_GATES)


def test_publish_list_fetch_verify_and_serve(registry, blessed, settings):
    files = candidate(blessed)
    manifest, new = registry.publish(files.files, files.metadata, progress=lambda m: None)
    version = manifest["version"]
    assert new and [m["version"] for m in registry.versions()] == [version]
    assert set(manifest["files"]) == {
        "model.tflite",
        "vocabulary.json",
        "model.keras",
        "profile.json",
        "metadata.json",
        "blessing.json",
        "gate.json",
    }
    local = registry.fetch(version, settings.model_cache_dir)
    assert not (local / artifact.KERAS_FILE).exists(), "the service downloads only what it serves"
    served = load_model(settings.model_copy(update={"model_version": version}))
    assert served.version == version and served.predict(["a wonderful film"])[0]["label"] == "positive"


def test_republishing_is_a_no_op(registry, blessed):
    files = candidate(blessed)
    first, new = registry.publish(files.files, files.metadata, progress=lambda m: None)
    again, new_again = registry.publish(files.files, files.metadata, progress=lambda m: None)
    assert new and not new_again and again["published"] == first["published"]


def test_tampered_object_and_tampered_cache_are_refused(registry, blessed, settings):
    files = candidate(blessed)
    manifest, _ = registry.publish(files.files, files.metadata, progress=lambda m: None)
    version = manifest["version"]
    cached = registry.fetch(version, settings.model_cache_dir)
    with (cached / artifact.VOCABULARY_FILE).open("ab") as fh:
        fh.write(b" ")
    with pytest.raises(ModelRegistryError, match="does not match the registry manifest"):
        registry.fetch(version, settings.model_cache_dir)
    shutil.rmtree(cached)
    key = version_prefix(version) + artifact.MODEL_FILE
    body = bytearray(registry.s3.get_object(Bucket=registry.bucket, Key=key)["Body"].read())
    body[100] ^= 1
    registry.s3.put_object(Bucket=registry.bucket, Key=key, Body=bytes(body))
    with pytest.raises(ModelRegistryError, match="does not match"):
        registry.fetch(version, settings.model_cache_dir)
    assert not (settings.model_cache_dir / version).exists(), "a bad download must not land in the cache"


def test_one_published_file_is_read_only_as_its_manifest_says(registry, blessed):
    """What the monitor reads of a version (its profile.json) is checked like a full fetch."""
    files = candidate(blessed)
    manifest, _ = registry.publish(files.files, files.metadata, progress=lambda m: None)
    version = manifest["version"]
    profile = registry.published_file(version, "profile.json")
    assert json.loads(profile)["model_version"] == version
    assert registry.published_file(version, "notes.txt") is None  # not a file of the version
    key = version_prefix(version) + "profile.json"
    registry.s3.put_object(Bucket=registry.bucket, Key=key, Body=profile.replace(b"{", b"{ ", 1))
    with pytest.raises(ModelRegistryError, match="does not match its manifest"):
        registry.published_file(version, "profile.json")


def test_publishing_needs_a_valid_blessing_and_its_gate_report(blessed, tmp_path):
    model, reports = blessed
    unblessed = tmp_path / "unblessed"
    shutil.copytree(model, unblessed)
    (unblessed / "blessing.json").unlink()
    with pytest.raises(StageError, match="not blessed"):
        publishable_files(unblessed, reports, THRESHOLDS, QUALITY_GATES)
    stale = tmp_path / "reports"
    shutil.copytree(reports, stale)
    report = json.loads((stale / "gate.json").read_text())
    report["passed"] = True
    report["note"] = "edited"
    (stale / "gate.json").write_text(json.dumps(report))
    with pytest.raises(StageError, match="gate report"):
        publishable_files(model, stale, THRESHOLDS, QUALITY_GATES)
    other_thresholds = tmp_path / "t.toml"
    other_thresholds.write_text(THRESHOLDS.read_text().replace("min = 0.78", "min = 0.7"))
    with pytest.raises(StageError, match="other thresholds"):
        publishable_files(model, reports, other_thresholds, QUALITY_GATES)


class PausesEmulatorAfter:
    """A real S3 client that freezes the emulator process after `n` uploads."""

    def __init__(self, s3, pid, n):
        self._s3, self._pid, self._left = s3, pid, n

    def put_object(self, **kwargs):
        result = self._s3.put_object(**kwargs)
        self._left -= 1
        if self._left == 0:
            os.kill(self._pid, signal.SIGSTOP)
        return result

    def __getattr__(self, name):
        return getattr(self._s3, name)


def test_emulator_stopped_mid_publish_leaves_no_visible_version(registry, blessed, emulator):
    import boto3

    impatient = boto3.client("s3", config=Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1}))
    files = candidate(blessed)
    pausing = ModelRegistryWriter(PausesEmulatorAfter(impatient, emulator.pid, n=2), registry.bucket)
    try:
        with pytest.raises(BotoCoreError):
            pausing.publish(files.files, files.metadata, progress=lambda m: None)
    finally:
        os.kill(emulator.pid, signal.SIGCONT)
    version = files.metadata["version"]
    uploaded = registry.s3.list_objects_v2(Bucket=registry.bucket, Prefix=version_prefix(version)).get("KeyCount", 0)
    assert uploaded >= 1, "the failure should have happened part-way through"
    assert registry.versions() == [] and registry.manifest(version) is None
    with pytest.raises(ModelRegistryError, match="not published"):
        registry.fetch(version, blessed[0].parent / "cache")
    _, new = registry.publish(files.files, files.metadata, progress=lambda m: None)
    assert new and [m["version"] for m in registry.versions()] == [version]


def test_champion_and_history_round_trip(registry, blessed):
    files = candidate(blessed)
    manifest, _ = registry.publish(files.files, files.metadata, progress=lambda m: None)
    version = manifest["version"]
    assert registry.champion() is None
    with pytest.raises(ModelRegistryError, match="not published"):
        registry.promote("000000000000")
    first = registry.promote(version, {"image": "img:1"})
    second = registry.promote(version, {"image": "img:2"})
    assert first["previous"] is None and second["previous"] == version
    assert registry.champion()["image"] == "img:2" and registry.resolve("champion") == version
    assert [e["image"] for e in registry.history()] == ["img:1", "img:2"]


def test_a_cached_copy_of_an_earlier_publication_is_replaced(registry, blessed, settings, tmp_path):
    """The emulator restarted (or the bucket was re-created) and the same version was published again with
    new metadata: the cache holds the earlier publication's copy, which is stale, not tampered."""
    files = candidate(blessed)
    manifest, _ = registry.publish(files.files, files.metadata, progress=lambda m: None)
    version = manifest["version"]
    registry.fetch(version, settings.model_cache_dir)
    for entry in registry.s3.list_objects_v2(Bucket=registry.bucket, Prefix=version_prefix(version))["Contents"]:
        registry.s3.delete_object(Bucket=registry.bucket, Key=entry["Key"])
    retrained = {**files.metadata, "created": "2030-01-01T00:00:00+00:00"}  # same weights, trained again
    (tmp_path / artifact.METADATA_FILE).write_text(json.dumps(retrained))
    republished, new = registry.publish(
        {**files.files, artifact.METADATA_FILE: tmp_path / artifact.METADATA_FILE}, retrained, progress=lambda m: None
    )
    assert new and republished != manifest
    copy = registry.fetch(version, settings.model_cache_dir)
    assert json.loads((copy / artifact.METADATA_FILE).read_text())["created"] == "2030-01-01T00:00:00+00:00"


def test_unreachable_bucket_uses_a_verified_cache_or_fails_in_one_line(registry, blessed, settings, monkeypatch):
    files = candidate(blessed)
    manifest, _ = registry.publish(files.files, files.metadata, progress=lambda m: None)
    version = manifest["version"]
    online = os.environ["AWS_ENDPOINT_URL"]
    offline = settings.model_copy(update={"model_version": version})
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(ModelRegistryError, match=r"unreachable .* no verified copy"):
        load_model(offline)
    monkeypatch.setenv("AWS_ENDPOINT_URL", online)
    registry.fetch(version, settings.model_cache_dir)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert load_model(offline).version == version


def test_workers_fetching_the_same_version_at_once_all_get_a_verified_copy(registry, blessed, settings):
    """gunicorn workers start together on an empty cache: the losers of the rename race use the winner's copy."""
    from concurrent.futures import ThreadPoolExecutor

    files = candidate(blessed)
    manifest, _ = registry.publish(files.files, files.metadata, progress=lambda m: None)
    clients = [ModelRegistry(registry.s3, registry.bucket) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        copies = list(pool.map(lambda r: r.fetch(manifest["version"], settings.model_cache_dir), clients))
    assert len(set(copies)) == 1
    assert [p.name for p in settings.model_cache_dir.iterdir()] == [manifest["version"]], "no temporary dirs left"


def test_regated_model_republishes_as_a_no_op_but_changed_model_files_are_refused(registry, blessed, tmp_path):
    files = candidate(blessed)
    first, _ = registry.publish(files.files, files.metadata, progress=lambda m: None)
    regated = dict(files.files)
    regated["gate.json"] = tmp_path / "gate.json"
    regated["gate.json"].write_text(files.files["gate.json"].read_text().replace("{", '{"rerun": true, ', 1))
    again, new = registry.publish(regated, files.metadata, progress=lambda m: None)
    assert not new and again["files"]["gate.json"] == first["files"]["gate.json"]
    retrained = dict(files.files)  # the same training again: same serving files, new timestamps elsewhere
    for name in ("metadata.json", "model.keras"):
        retrained[name] = tmp_path / name
        retrained[name].write_bytes(files.files[name].read_bytes() + b" ")
    again, new = registry.publish(retrained, files.metadata, progress=lambda m: None)
    assert not new and again["files"]["metadata.json"] == first["files"]["metadata.json"]
    tampered = dict(files.files)
    tampered["vocabulary.json"] = tmp_path / "vocabulary.json"
    tampered["vocabulary.json"].write_bytes(files.files["vocabulary.json"].read_bytes() + b" ")
    with pytest.raises(ModelRegistryError, match="different model files"):
        registry.publish(tampered, files.metadata, progress=lambda m: None)
