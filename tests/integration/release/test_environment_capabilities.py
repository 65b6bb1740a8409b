"""A capability an environment lacks is a clear error, never a silent no-op."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_stop_local_in_an_aws_environment_says_it_cannot_in_one_line(tmp_path):
    """dev/qa/prod run their releases on EC2: `--stop-local` there printed "no local release is
    running" and exited 0, as if it had checked."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"PROJECT_ENV": "dev", "ARTIFACTS_DIR": str(tmp_path / "artifacts")}
    out = subprocess.run(
        [sys.executable, "-m", "pipeline.deploy", "--stop-local"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    lines = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    assert out.returncode == 2, out.stdout + out.stderr
    assert len(lines) == 1 and "the dev environment runs no release on this machine" in lines[0]
