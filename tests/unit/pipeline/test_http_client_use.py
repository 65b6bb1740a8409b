"""The pipeline has one HTTP client (pipeline.http_client: requests + urllib3's Retry)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def callers_of_urllib_request(root: Path) -> list[str]:
    return sorted(
        str(path.relative_to(root))
        for path in (root / "pipeline").rglob("*.py")
        if "urllib.request" in path.read_text()
    )


def test_no_module_of_the_pipeline_calls_urllib_request():
    assert callers_of_urllib_request(ROOT) == []


def test_a_module_that_calls_urllib_request_is_found(tmp_path):
    (tmp_path / "pipeline" / "release").mkdir(parents=True)
    (tmp_path / "pipeline" / "release" / "probe.py").write_text("import urllib.request\n")
    assert callers_of_urllib_request(tmp_path) == ["pipeline/release/probe.py"]
