"""Image tags: `<code revision>-<model version>`, never `latest`.

The code revision is the commit's sha12, plus `-dirty<hash8>` of whatever is not committed
(changes to tracked files, and untracked files git does not ignore, which the image's
wheel would also pick up), so a tag always names exactly the code and the model it holds.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


def _git(*args: str) -> bytes:
    return subprocess.run(["git", *args], capture_output=True, check=True, timeout=30, cwd=PROJECT_DIR).stdout


def code_revision(sha: str) -> str:
    """sha12, plus a hash of what is not committed if there is any."""
    try:
        diff = _git("diff", "HEAD", "--binary")
        untracked = sorted(filter(None, _git("ls-files", "--others", "--exclude-standard", "-z").split(b"\0")))
    except (OSError, subprocess.SubprocessError):
        return sha[:12]
    digest = hashlib.sha256(diff)
    for name in untracked:
        path = PROJECT_DIR / os.fsdecode(name)
        digest.update(name + b"\0" + (path.read_bytes() if path.is_file() else b""))
    return f"{sha[:12]}-dirty{digest.hexdigest()[:8]}" if diff or untracked else sha[:12]


def image_tag(sha: str, model_version: str) -> str:
    return f"{code_revision(sha)}-{model_version}"
