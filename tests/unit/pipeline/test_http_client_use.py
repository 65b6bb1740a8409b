"""The pipeline has one HTTP client (pipeline.http_client: requests + urllib3's Retry)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# Converted by its own change (issue 34, helper H36b).
NOT_YET = {"pipeline/live_metrics/windows.py"}


def test_no_module_of_the_pipeline_calls_urllib_request():
    callers = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "pipeline").rglob("*.py")
        if "urllib.request" in path.read_text() and str(path.relative_to(ROOT)) not in NOT_YET
    )
    assert callers == []
