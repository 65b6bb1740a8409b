"""`python -m pipeline.data check`: the data gates on a dataset, alone (`python -m pipeline.train` runs them too).

Reads the dataset (--dataset, else DATASET: builtin, a .jsonl/.csv/.parquet file or s3://BUCKET/KEY) and
quality_gates/data.toml; writes `records.DataReport` (reports/data.json) and data.xml (JUnit).
Exit 0 = every check passed, 1 = a check failed (each named on its own line), 2 = unreadable data or
thresholds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline import environments
from pipeline.errors import log, run
from pipeline.ml import data_checks, datasets
from pipeline.records import DataReport, Stage
from pipeline.settings import get_settings

STAGE = "data"
DECLARATION = Stage(
    STAGE, writes=(DataReport,),
    inputs="the dataset (`--dataset` or `DATASET`), `quality_gates/data.toml`, the champion's data (`--baseline`)",
)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m pipeline.data", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="run the data gates on a dataset")
    check.add_argument("--dataset", help="builtin, a .jsonl/.csv/.parquet file or s3://BUCKET/KEY (default: $DATASET)")
    check.add_argument("--thresholds", type=Path, default=settings.data_thresholds_file, help="data gate thresholds")
    check.add_argument("--reports", type=Path, default=settings.reports_dir, help="where data.json/.xml go")
    check.add_argument("--baseline", type=Path, help="the champion's artifact directory, to compare label balances")
    args = parser.parse_args(argv)
    spec = datasets.DatasetSpec.from_settings(settings, args.dataset)
    dataset = environments.current(settings).dataset(spec)
    splits = dataset.splits
    log(STAGE, f"dataset {spec.source}: {len(dataset.examples)} rows, split {splits.sizes}")
    data_checks.gate(dataset, args.thresholds, args.reports, args.baseline, STAGE, lambda m: log(STAGE, m))
    return 0


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
