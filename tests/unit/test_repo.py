from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _readme_block_after(heading: str) -> str:
    lines = (REPO / "README.md").read_text().splitlines()
    start = next(i for i, ln in enumerate(lines) if heading in ln)
    return next(ln.strip() for ln in lines[start + 1 :] if ln.startswith("    "))


def test_ci_runs_exactly_the_readme_test_command():
    command = _readme_block_after("Set up and run the tests")
    assert command in (REPO / ".ci" / "run").read_text().splitlines()


def test_readme_main_command_runs_the_pipeline():
    assert _readme_block_after("Set up and run the main job") == "bash .ci/setup && .venv/bin/python -m pipeline"
