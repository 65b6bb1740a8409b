"""Reading a user's dataset: JSONL, CSV and Parquet files with named columns and a declared label mapping."""

import csv
import json

import pytest

from pipeline.ml import datasets
from pipeline.ml.data import DataError, Example
from pipeline.ml.datasets import DatasetSpec

ROWS = [("A fine film.", "pos"), ("Dull and long.", "neg"), ("", "pos")]
SPEC = dict(text_column="review", label_column="verdict", labels={"pos": 1, "neg": 0})


def write(path, rows=ROWS):
    if path.suffix == ".jsonl":
        path.write_text(
            "".join(json.dumps({"review": t, "verdict": v, "id": i}) + "\n" for i, (t, v) in enumerate(rows))
        )
    elif path.suffix == ".csv":
        with path.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["id", "review", "verdict"])
            writer.writerows([i, t, v] for i, (t, v) in enumerate(rows))
    else:
        pq = pytest.importorskip("pyarrow.parquet", reason="NOT TESTED: pyarrow is not installed")
        import pyarrow as pa

        pq.write_table(pa.table({"review": [t for t, _ in rows], "verdict": [v for _, v in rows]}), path)
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_every_format_reads_the_same_examples_and_records_its_lineage(tmp_path, suffix):
    path = write(tmp_path / f"reviews{suffix}")
    dataset = datasets.load(DatasetSpec(str(path), **SPEC))
    assert dataset.examples == (Example("A fine film.", 1), Example("Dull and long.", 0), Example("", 1))
    lineage = dataset.lineage
    assert lineage["source"] == str(path) and lineage["format"] == suffix[1:] and lineage["version"] is None
    assert len(lineage["sha256"]) == 64 and lineage["labels"] == {"pos": 1, "neg": 0}
    record = dataset.record()
    assert record["sizes"] and sum(record["sizes"].values()) == 2  # the empty text is not trained on
    assert DatasetSpec.from_lineage(record) == DatasetSpec(str(path), **SPEC)


def test_the_builtin_corpus_as_jsonl_has_the_builtin_fingerprint(builtin_dataset, tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text(
        "".join(
            json.dumps({"text": ex.text, "label": ["negative", "positive"][ex.label]}) + "\n"
            for ex in builtin_dataset.examples
        )
    )
    ours = datasets.load(DatasetSpec(str(path))).splits
    assert ours.fingerprint == builtin_dataset.splits.fingerprint


@pytest.mark.parametrize(
    ("content", "spec", "message"),
    [
        (
            '{"review": "ok", "verdict": "pos"}\n{"review": "x", "verdict": "meh"}\n',
            SPEC,
            r"reviews.jsonl: row 2: column `verdict`: 'meh' is not a declared label \(neg, pos; DATASET_LABELS",
        ),
        (
            '{"review": "ok", "verdict": "pos"}\n{"text": "x", "verdict": "neg"}\n',
            SPEC,
            r"row 2: no column `review` \(it has text, verdict\)",
        ),
        (
            '{"review": "ok", "verdict": "pos"}\n{"review": 3, "verdict": "neg"}\n',
            SPEC,
            r"row 2: column `review` is int, not text",
        ),
        ('{"review": "ok", "verdict": "pos"}\nnot json\n', SPEC, r"row 2: not valid JSON"),
        ("[1, 2]\n", SPEC, r"row 1: not a JSON object"),
        ("", SPEC, r"reviews.jsonl: no rows"),
        ('{"review": "ok", "verdict": "pos"}\n', {**SPEC, "labels": {"pos": 1, "neg": 1}}, r"must map values to 1"),
    ],
)
def test_a_bad_file_is_one_line_naming_the_row_and_column(tmp_path, content, spec, message):
    path = tmp_path / "reviews.jsonl"
    path.write_text(content)
    with pytest.raises(DataError, match=message) as caught:
        datasets.load(DatasetSpec(str(path), **spec))
    assert "\n" not in str(caught.value)


def test_unknown_formats_missing_files_and_bad_encodings_are_one_line(tmp_path):
    with pytest.raises(DataError, match=r"unknown format '.txt'; use one of .jsonl, .csv, .parquet"):
        datasets.load(DatasetSpec(str(tmp_path / "reviews.txt")))
    with pytest.raises(DataError, match=r"dataset .*nothing.csv does not exist"):
        datasets.load(DatasetSpec(str(tmp_path / "nothing.csv")))
    (tmp_path / "latin1.csv").write_bytes("text,label\ncaf\xe9,positive\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1.csv: not UTF-8 text"):
        datasets.load(DatasetSpec(str(tmp_path / "latin1.csv")))
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match=r"broken.parquet: "):
        datasets.load(DatasetSpec(str(tmp_path / "broken.parquet")))
    with pytest.raises(DataError, match=r"s3://BUCKET/KEY"):
        datasets.load(DatasetSpec("s3://just-a-bucket.jsonl"))


def test_the_spec_comes_from_the_settings_and_a_command_line_wins():
    from pipeline.settings import PipelineSettings

    settings = PipelineSettings(
        dataset="s3://data/reviews.csv", dataset_version="v3", dataset_labels={"1": 1, "0": 0}, _env_file=None
    )
    spec = DatasetSpec.from_settings(settings)
    assert spec == DatasetSpec("s3://data/reviews.csv", "text", "label", {"1": 1, "0": 0}, "v3") and spec.on_s3
    assert DatasetSpec.from_settings(settings, "local.jsonl").source == "local.jsonl"
    assert DatasetSpec.from_settings(PipelineSettings(_env_file=None)) == DatasetSpec()
