"""On a machine without a GPU, the stages' TensorFlow says nothing that reads like an error: no CUDA probe
failure ("failed call to cuInit: INTERNAL: CUDA error") in every train and gate of a Jenkins log."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
@pytest.mark.skipif(Path("/dev/nvidia0").exists(), reason="NOT TESTED: this machine has a GPU")
def test_tensorflow_under_the_pipeline_does_not_log_a_cuda_error_without_a_gpu():
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", "TF_CPP_MIN_LOG_LEVEL")}
    probe = "import pipeline, tensorflow as tf; print(len(tf.config.list_physical_devices('GPU')))"
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=True
    )
    assert run.stdout.strip() == "0"
    assert "cuInit" not in run.stderr and "CUDA error" not in run.stderr, run.stderr
