"""Stage `train`: corpus -> seeded split -> the chosen architecture's model -> candidate artifact.

Reads the corpus (PyPI-shipped) and the settings; writes the candidate directory
(`records.Candidate`, default $ARTIFACTS_DIR/candidate). The architecture is --arch, else
MODEL_ARCH (default ngram); its hyper-parameters are flags (defaults per architecture; a flag
another architecture owns is refused). Unchanged inputs reuse the existing candidate instead of
retraining.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.errors import StageError, log, run
from pipeline.ml.hyperparameters import PARAMETERS, OutputDirError, check_output_dir
from pipeline.records import Candidate
from pipeline.settings import get_settings

STAGE = "train"
WRITES = Candidate


def _defaults() -> dict[str, dict[str, object]]:
    """Hyper-parameter name -> {architecture: default}, over every architecture."""
    table: dict[str, dict[str, object]] = {}
    for arch, cls in PARAMETERS.items():
        for name, default in cls().as_dict().items():
            table.setdefault(name, {})[arch] = default
    return table


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline.train", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="artifact directory (default: $ARTIFACTS_DIR/candidate)")
    parser.add_argument(
        "--arch", choices=sorted(PARAMETERS), help="architecture to train (default: $MODEL_ARCH, else ngram)"
    )
    parser.add_argument("--force", action="store_true", help="retrain even if the inputs are unchanged")
    parser.add_argument("--no-anchors", action="store_true", help="skip the VADER / TF-IDF+LR reference scores")
    for name, defaults in _defaults().items():
        shown = ", ".join(f"{arch} {value}" for arch, value in defaults.items())
        value_type = type(next(iter(defaults.values())))
        parser.add_argument(f"--{name.replace('_', '-')}", type=value_type, default=None, help=f"default: {shown}")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    arch = args.arch or settings.model_arch
    if arch not in PARAMETERS:
        raise StageError(f"MODEL_ARCH={arch!r} is not an architecture (known: {', '.join(PARAMETERS)})", exit_code=2)
    params_type = PARAMETERS[arch]
    own = params_type().as_dict()
    given = {name: getattr(args, name) for name in _defaults() if getattr(args, name) is not None}
    foreign = sorted(f"--{name.replace('_', '-')}" for name in given if name not in own)
    if foreign:
        raise StageError(f"{', '.join(foreign)}: not a hyper-parameter of {arch}", exit_code=2)
    given.setdefault("seed", settings.seed)
    out_dir = args.out or settings.candidate_dir
    try:
        check_output_dir(out_dir)
    except OutputDirError as exc:
        raise StageError(str(exc), exit_code=2) from exc
    from pipeline.ml import data, training  # TensorFlow: imported once the inputs are known to be usable

    log(STAGE, f"architecture {arch}")
    try:
        result = training.train(
            out_dir,
            params_type.from_flat(given),
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
