"""The delivery pipeline: stages (`pipeline.stages`), operations commands (`pipeline.commands`) and the
modules and packages they share (everything else here).

Users and Jenkins type `python -m pipeline.<name>` for both stages and commands: the finder below
resolves that name to the module in `stages/` or `commands/`, so the short form needs no file of its own.
"""

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path

# Quiet TensorFlow's C++ start-up chatter in every stage, and keep its CPU kernels
# deterministic: oneDNN may reorder float sums between runs.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
if "CUDA_VISIBLE_DEVICES" not in os.environ and not Path("/dev/nvidia0").exists():
    # No GPU here and none chosen: TensorFlow would still probe CUDA and log the failure as an error
    # ("failed call to cuInit") in every train and gate, which reads like a failure in a Jenkins log.
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

COMMAND_PACKAGES = ("stages", "commands")


class _CommandFinder(importlib.abc.MetaPathFinder):
    """`python -m pipeline.train` runs `pipeline/stages/train.py` (`pipeline.rollback`: `commands/rollback.py`).

    Consulted after the regular finders, so a real module of the same name wins. Code imports the
    full name (`pipeline.stages.train`); this alias exists for the command line."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != __name__:
            return None
        for home in COMMAND_PACKAGES:
            source = Path(__file__).parent / home / f"{name}.py"
            if source.is_file():
                return importlib.util.spec_from_file_location(fullname, source)
        return None


if not any(isinstance(finder, _CommandFinder) for finder in sys.meta_path):
    sys.meta_path.append(_CommandFinder())

STAGES: tuple[str, ...] = ("train", "gate", "provision", "publish", "build", "deploy", "smoke")
