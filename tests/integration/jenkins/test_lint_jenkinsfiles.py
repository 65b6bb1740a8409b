""".ci/lint-jenkinsfiles (npm-groovy-lint, which ships CodeNarc) fails on a broken Jenkinsfile.

CI runs it on the real Jenkinsfiles (.ci/run, and the Jenkinsfile's lint stage), where it must pass; this
shows it fails when it should: a syntax error, and a finding of the rules .groovylintrc.json keeps.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
LINT = REPO / ".ci" / "lint-jenkinsfiles"


@pytest.mark.skipif(
    shutil.which("npm") is None or shutil.which("java") is None,
    reason="NOT TESTED: npm-groovy-lint needs npm and java (apt install npm default-jre-headless)",
)
def test_the_linter_fails_on_broken_jenkinsfiles(tmp_path):
    source = (REPO / "Jenkinsfile").read_text()
    syntax = tmp_path / "syntax" / "Jenkinsfile"
    syntax.parent.mkdir()
    syntax.write_text(source.replace("stages {", "stages {{", 1))
    finding = tmp_path / "finding" / "Jenkinsfile"
    finding.parent.mkdir()
    # A declarative pipeline with a Groovy string where a plain one does (UnnecessaryGString) and a line far
    # longer than the configured limit (LineLength).
    finding.write_text(source.replace("PY = '.venv/bin/python'", 'PY = ".venv/bin/python"' + " " * 230 + "// long"))
    out = subprocess.run(
        ["bash", str(LINT), str(syntax), str(finding)], capture_output=True, text=True, timeout=900, cwd=REPO
    )
    report = out.stdout + out.stderr
    assert out.returncode == 1, report[-3000:]
    assert "UnnecessaryGString" in report and "LineLength" in report, report[-3000:]
    assert str(syntax) in report and "error" in report.lower(), report[-3000:]
