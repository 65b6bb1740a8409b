"""The pipeline stages, one module each, run in this order by `python -m pipeline` and by Jenkins.

This tuple is the single source of truth for the order; the Jenkinsfile is tested against it.
"""

import os

# Quiet TensorFlow's C++ start-up chatter in every stage, and keep its CPU kernels
# deterministic: oneDNN may reorder float sums between runs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

STAGES: tuple[str, ...] = ("train", "gate", "provision", "publish", "build", "deploy", "smoke")
