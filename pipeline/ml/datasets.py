"""Where the labelled examples come from: the built-in corpus, a local JSONL/CSV/Parquet file, or an
`s3://bucket/key` object (pinned to an object version when the bucket is versioned).

Every source gives the same thing: every row as read (empty texts included, so the data gates can
judge them) and its lineage (what was read, its bytes' sha256 and, on S3, the object version), which
training records in the model's metadata and the gate reads the same data back from. A file that
cannot be read is one `DataError` line naming the row, the column and why.

Reading an S3 object needs AWS credentials and, locally, the emulator: the stage points this process
at them first (`pipeline.environments`); this module only makes the S3 client.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

from pipeline.ml import data
from pipeline.ml.data import DataError, Example
from pipeline.settings import PipelineSettings

BUILTIN = "builtin"
FORMATS = {".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet"}
DEFAULT_LABELS = {"positive": 1, "negative": 0}


@dataclass(frozen=True)
class DatasetSpec:
    """Which data to read and how its columns map onto examples (the settings' DATASET_*)."""

    source: str = BUILTIN  # "builtin", a local file path, or s3://bucket/key
    text_column: str = "text"
    label_column: str = "label"
    labels: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_LABELS))  # value -> 1 positive, 0 negative
    version: str | None = None  # the S3 object version to read; None: the current one

    @property
    def on_s3(self) -> bool:
        return self.source.startswith("s3://")

    @classmethod
    def from_settings(cls, settings: PipelineSettings, source: str | None = None) -> DatasetSpec:
        """DATASET and its DATASET_* settings; `source` (a command line's --dataset) instead of DATASET."""
        return cls(
            source or settings.dataset,
            settings.dataset_text_column,
            settings.dataset_label_column,
            dict(settings.dataset_labels),
            settings.dataset_version or None,
        )

    @classmethod
    def from_lineage(cls, lineage: Mapping[str, Any]) -> DatasetSpec:
        """The spec that reads back exactly the data a model recorded it was trained on."""
        try:
            return cls(
                str(lineage["source"]),
                str(lineage.get("text_column", "text")),
                str(lineage.get("label_column", "label")),
                {str(k): int(v) for k, v in lineage.get("labels", DEFAULT_LABELS).items()},
                lineage.get("version"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(f"the model's data lineage {dict(lineage)!r} names no readable dataset ({exc})") from exc


@dataclass(frozen=True)
class Dataset:
    examples: tuple[Example, ...]  # every row as read, in file order
    lineage: dict[str, Any]  # source, format, sha256, version, columns, labels

    @cached_property
    def splits(self) -> data.Splits:
        return data.split(data.dedupe(list(self.examples)))

    def record(self) -> dict[str, Any]:
        """What a model's metadata (and so the registry) records about its data: the dataset read, the
        fingerprint of the rows kept, the split definition and each split's size and positive share."""
        return {
            **self.lineage,
            "fingerprint": self.splits.fingerprint,
            "split": data.SPLIT_DEFINITION,
            "sizes": self.splits.sizes,
            "positive_shares": self.splits.positive_shares,
        }


def load(spec: DatasetSpec, region: str | None = None) -> Dataset:
    """The rows and lineage of `spec`; S3 in `region` (None: the AWS default of this process)."""
    if spec.source == BUILTIN:
        raw = data.read_corpus_bytes()
        lineage = {"source": BUILTIN, "format": "corpus", "corpus": f"{data.CORPUS_PACKAGE}/{data.CORPUS_RESOURCE}"}
        return Dataset(tuple(data.parse_corpus(raw)), {**lineage, "sha256": hashlib.sha256(raw).hexdigest()})
    if set(spec.labels.values()) != {0, 1}:
        raise DataError(f"the label mapping {dict(spec.labels)} must map values to 1 (positive) and 0 (negative)")
    fmt = _format(spec.source)
    raw, version = _read_s3(spec, region) if spec.on_s3 else (_read_file(Path(spec.source)), None)
    rows = _ROWS[fmt](raw, spec.source)
    examples = tuple(_example(spec, number, row) for number, row in rows)
    if not examples:
        raise DataError(f"{spec.source}: no rows")
    lineage = {
        "source": spec.source,
        "format": fmt,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "version": version,
        "text_column": spec.text_column,
        "label_column": spec.label_column,
        "labels": dict(spec.labels),
    }
    return Dataset(examples, lineage)


def _format(source: str) -> str:
    suffix = PurePosixPath(source).suffix.lower()
    if suffix not in FORMATS:
        raise DataError(f"{source}: unknown format {suffix or '(no suffix)'!r}; use one of {', '.join(FORMATS)}")
    return FORMATS[suffix]


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"dataset {path} does not exist") from None
    except OSError as exc:
        raise DataError(f"cannot read dataset {path}: {exc}") from exc


def _read_s3(spec: DatasetSpec, region: str | None) -> tuple[bytes, str | None]:
    from botocore.exceptions import BotoCoreError, ClientError

    from sentiment.model_registry import s3_client

    bucket, _, key = spec.source.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise DataError(f"{spec.source}: an S3 dataset is s3://BUCKET/KEY")
    extra = {"VersionId": spec.version} if spec.version else {}
    try:
        response = s3_client(region).get_object(Bucket=bucket, Key=key, **extra)
        body = response["Body"].read()
    except (BotoCoreError, ClientError) as exc:
        pinned = f" (version {spec.version})" if spec.version else ""
        raise DataError(f"cannot read dataset {spec.source}{pinned}: {exc}") from exc
    version = response.get("VersionId")
    return body, None if version in (None, "null") else str(version)


def _jsonl_rows(raw: bytes, source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(_text(raw, source).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{source}: row {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise DataError(f"{source}: row {number}: not a JSON object")
        yield number, row


def _csv_rows(raw: bytes, source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(_text(raw, source), newline=""))
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        raise DataError(f"{source}: row {reader.line_num}: not valid CSV ({exc})") from None


def _parquet_rows(raw: bytes, source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        import pyarrow.parquet as pq
        from pyarrow import ArrowException
    except ImportError:
        raise DataError(f"{source}: reading Parquet needs pyarrow (pip install -e '.[train]')") from None
    try:
        table = pq.read_table(io.BytesIO(raw))
    except (ArrowException, OSError) as exc:
        raise DataError(f"{source}: not a readable Parquet file ({exc})") from None
    yield from enumerate(table.to_pylist(), 1)


_ROWS = {"jsonl": _jsonl_rows, "csv": _csv_rows, "parquet": _parquet_rows}


def _text(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{source}: not UTF-8 text (byte {exc.start})") from None


def _example(spec: DatasetSpec, number: int, row: dict[str, Any]) -> Example:
    for column in (spec.text_column, spec.label_column):
        if column not in row:
            raise DataError(f"{spec.source}: row {number}: no column `{column}` (it has {', '.join(map(str, row))})")
    text, label = row[spec.text_column], row[spec.label_column]
    if text is not None and not isinstance(text, str):
        raise DataError(f"{spec.source}: row {number}: column `{spec.text_column}` is {type(text).__name__}, not text")
    value = str(label).strip() if label is not None and not isinstance(label, bool) else None
    if value not in spec.labels:
        raise DataError(
            f"{spec.source}: row {number}: column `{spec.label_column}`: {label!r} is not a declared label "
            f"({', '.join(sorted(spec.labels))}; DATASET_LABELS maps the labels)"
        )
    return Example((text or "").strip(), spec.labels[value])
