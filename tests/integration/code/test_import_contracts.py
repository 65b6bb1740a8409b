"""The import contracts hold, and each one fails on a planted violation (lint-imports on a copy of the code)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{root / 'src'}"}
    return subprocess.run([str(LINT_IMPORTS)], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def copy_of_the_code(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "pipeline", root / "pipeline")
    shutil.copytree(REPO / "src", root / "src")
    shutil.copy(REPO / "pyproject.toml", root)
    return root


def test_the_import_contracts_hold():
    out = lint_imports(REPO)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "0 broken" in out.stdout


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        ("pipeline/stages/smoke.py", "import pipeline.stages.deploy", "independent"),
        ("pipeline/commands/monitor.py", "import pipeline.stages.smoke", "independent"),
        ("pipeline/release/probe.py", "import pipeline.stages.smoke", "import no stage"),
        ("src/sentiment/text.py", "import pipeline.settings", "never imports the pipeline"),
        ("pipeline/ml/evaluation.py", "import pipeline.release.probe", "Layers"),
        ("pipeline/records.py", "import pipeline.settings", "Layers"),
    ],
)
def test_each_contract_fails_on_a_planted_violation(tmp_path, module, planted, broken):
    root = copy_of_the_code(tmp_path)
    path = root / module
    path.write_text(path.read_text() + f"\n{planted}  # planted\n")
    out = lint_imports(root)
    assert out.returncode != 0
    assert re.search(rf"{re.escape(broken)}.*BROKEN", out.stdout.replace("\n", " ")), out.stdout[-2000:]
