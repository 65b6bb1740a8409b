"""A dataset on S3 (the emulator's, as AWS's): read through the environment, pinned to its object version,
and the same rows as a local file or the built-in corpus train the same model version."""

import shutil

import pytest

from pipeline import environments
from pipeline.errors import StageError
from pipeline.ml import datasets, gating
from pipeline.ml.hyperparameters import NgramParameters
from pipeline.ml.training import train
from sentiment import artifact
from sentiment.model_registry import s3_client
from sentiment.runtime import SentimentModel

pytestmark = pytest.mark.slow


@pytest.fixture
def bucket(settings):
    """A versioned bucket of its own in the emulator."""
    environments.current(settings).connect()
    s3 = s3_client(settings.aws_default_region)
    name = f"data-{settings.model_bucket}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": settings.aws_default_region})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return s3, name


def test_the_corpus_on_s3_trains_the_same_version_and_the_gate_reads_the_pinned_object_version(
    settings, bucket, corpus_jsonl, builtin_dataset, trained_dir, tmp_path
):
    s3, name = bucket
    first = s3.put_object(Bucket=name, Key="reviews/corpus.jsonl", Body=corpus_jsonl.read_bytes())["VersionId"]
    spec = datasets.DatasetSpec(f"s3://{name}/reviews/corpus.jsonl")
    dataset = environments.current(settings).dataset(spec)
    assert dataset.lineage["version"] == first and dataset.lineage["format"] == "jsonl"
    assert dataset.splits.fingerprint == builtin_dataset.splits.fingerprint

    # trained_dir was trained from the same rows as a local JSONL file: the inputs are unchanged, so the
    # candidate is reused as is (same version) and records where its data now comes from.
    candidate = shutil.copytree(trained_dir, tmp_path / "candidate")
    result = train(candidate, NgramParameters(), dataset, log=lambda m: None)
    assert result.reused and result.metadata["version"] == artifact.verify(trained_dir)["version"]
    lineage = artifact.read_metadata(candidate)["data"]
    assert lineage["source"] == spec.source and lineage["version"] == first

    # A newer object under the same key does not move what the gate measures on: it reads the pinned version.
    s3.put_object(Bucket=name, Key="reviews/corpus.jsonl", Body=b'{"text": "other", "label": "positive"}\n')
    model = SentimentModel(candidate)
    assert gating.splits_for(model).fingerprint == lineage["fingerprint"]
    assert environments.current(settings).dataset(spec).lineage["version"] != first  # the current one is other

    s3.delete_object(Bucket=name, Key="reviews/corpus.jsonl", VersionId=first)
    with pytest.raises(StageError, match=rf"the candidate's dataset: cannot read dataset {spec.source} \(version"):
        gating.splits_for(model)
