"""Secret hygiene and static security: detect-secrets against the committed baseline, bandit, `.env`."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
TOOLS = REPO / ".venv-tools" / "bin"
SECRETS_HOOK = Path(sys.executable).parent / "detect-secrets-hook"
needs_tools = pytest.mark.skipif(
    not SECRETS_HOOK.exists() or not (TOOLS / "bandit").exists(),
    reason="NOT TESTED: detect-secrets (.venv) or bandit (.venv-tools) missing; run bash .ci/setup",
)
CREDENTIAL_KEY = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|ACCESS_KEY|PRIVATE_KEY|CREDENTIAL|API_KEY)", re.I)


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [f for f in out.splitlines() if (REPO / f).is_file()]


def secrets_hook(*files: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SECRETS_HOOK), "--baseline", ".secrets.baseline", *files],
        cwd=REPO,
        capture_output=True,
        text=True,
    )


@needs_tools
def test_no_tracked_file_holds_a_secret_beyond_the_baseline():
    out = secrets_hook(*tracked_files())
    assert out.returncode == 0, out.stdout + out.stderr


@needs_tools
def test_the_secret_scan_catches_a_planted_key(tmp_path):
    planted = REPO / "tests" / f"planted_{tmp_path.name}.py"
    # Assembled at run time so that this file itself holds no key.
    planted.write_text(f'aws_secret_access_key = "{"wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"}"\n')
    try:
        out = secrets_hook(str(planted.relative_to(REPO)))
    finally:
        planted.unlink()
    assert out.returncode != 0 and "Secret" in out.stdout


def test_env_has_no_key_that_looks_like_a_credential():
    keys = [ln.split("=", 1)[0].strip() for ln in (REPO / ".env").read_text().splitlines() if "=" in ln]
    keys = [k for k in keys if not k.startswith("#")]
    assert keys, ".env should hold the tracked settings"
    assert not [k for k in keys if CREDENTIAL_KEY.search(k)]


def test_no_terraform_state_is_tracked():
    assert not [f for f in tracked_files() if ".tfstate" in f]


@needs_tools
def test_bandit_is_clean_on_src_and_pipeline():
    out = subprocess.run(
        [str(TOOLS / "bandit"), "-q", "-c", "pyproject.toml", "-r", "src", "pipeline"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout[-3000:]
