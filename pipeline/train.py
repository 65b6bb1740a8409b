"""Stage `train`: corpus -> seeded split -> Keras model -> candidate artifact.

Reads the corpus (PyPI-shipped) and the settings; writes the candidate directory
(`records.Candidate`, default $ARTIFACTS_DIR/candidate). Unchanged inputs reuse the
existing candidate instead of retraining.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli import StageError, log, run
from pipeline.ml.hyperparameters import HyperParameters, OutputDirError, check_output_dir
from pipeline.records import Candidate
from pipeline.settings import get_settings

STAGE = "train"
WRITES = Candidate


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline.train", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="artifact directory (default: $ARTIFACTS_DIR/candidate)")
    parser.add_argument("--force", action="store_true", help="retrain even if the inputs are unchanged")
    parser.add_argument("--no-anchors", action="store_true", help="skip the VADER / TF-IDF+LR reference scores")
    for name, default in HyperParameters().as_dict().items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=None, help=f"default {default}")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    overrides = {name: getattr(args, name) for name in HyperParameters().as_dict() if getattr(args, name) is not None}
    overrides.setdefault("seed", settings.seed)
    out_dir = args.out or settings.candidate_dir
    try:
        check_output_dir(out_dir)
    except OutputDirError as exc:
        raise StageError(str(exc), exit_code=2) from exc
    from pipeline.ml import data, training  # TensorFlow: imported once the inputs are known to be usable

    try:
        result = training.train(
            out_dir,
            HyperParameters.from_flat(overrides),
            force=args.force,
            with_anchors=not args.no_anchors,
            log=lambda m: log(STAGE, m),
        )
    except (data.DataError, OutputDirError) as exc:
        raise StageError(str(exc), exit_code=2) from exc
    print(training.format_summary(result.metadata))
    return 0


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
