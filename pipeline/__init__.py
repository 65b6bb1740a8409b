"""The pipeline stages, one module each, run in this order by `python -m pipeline` and by Jenkins.

This tuple is the single source of truth for the order; the Jenkinsfile is tested against it.
"""

import os
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

STAGES: tuple[str, ...] = ("train", "gate", "provision", "publish", "build", "deploy", "smoke")
