"""The soak script (`python -m bench soak`): 60 s of wrk at concurrency 64 against the default server
(`python -m sentiment serve`, Granian), 0 errors, worker RSS growth < 10%. About 70 s."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="NOT TESTED: wrk is not installed (apt-get install wrk)")
def test_soak_holds_without_errors_or_memory_growth(trained_dir, tmp_path):
    env = {**os.environ, "MODEL_DIR": str(trained_dir), "ARTIFACTS_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "bench", "soak"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    result = json.loads((tmp_path / "reports" / "soak.json").read_text())
    run = result["run"]
    rss = f"RSS growth {result['max_rss_growth']:.1%}"
    print(f"soak: {run['rps']:.0f} req/s, p99 {run['p99_ms']} ms, {rss}")
    assert out.returncode == 0 and result["passed"], out.stdout[-2000:] + out.stderr[-2000:]
    assert result["run"]["errors"] == 0 and result["run"]["non_2xx"] == 0
