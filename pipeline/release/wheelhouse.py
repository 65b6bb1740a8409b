"""The wheelhouse the image installs from with --no-index, so the image build needs no network.

Wheels are fetched on the build host for the image's platform (CPython 3.11 on glibc
>= 2.17, i.e. any current Debian-based Python image), pinned to the versions installed
in the environment the tests ran in, plus this project's own wheel.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from pipeline.cli import StageError

PYTHON_VERSION = "3.11"
# Newest glibc first: pip takes --platform literally, so every manylinux level is listed.
GLIBC_MINOR_RANGE = range(36, 16, -1)  # Debian bookworm has glibc 2.36


def pinned_versions() -> list[str]:
    """name==version for every distribution installed here (the tested set), except this project."""
    pins = {
        f"{dist.metadata['Name']}=={dist.version}"
        for dist in metadata.distributions()
        if dist.metadata["Name"] and dist.metadata["Name"].lower() != "sentiment-api"
    }
    return sorted(pins)


def _pip(*args: str) -> None:
    try:
        subprocess.run(
            [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check", *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
        )
    except subprocess.CalledProcessError as exc:
        lines = [ln for ln in (exc.stderr or "").splitlines() if ln.startswith("ERROR")] or ["no output"]
        raise StageError(f"pip {args[0]} failed: {lines[-1]}") from exc


def build(project_dir: Path, wheelhouse: Path) -> list[str]:
    """Fill `wheelhouse` (emptied first) with the serving dependencies; returns the wheel file names."""
    shutil.rmtree(wheelhouse, ignore_errors=True)
    wheelhouse.mkdir(parents=True)
    _pip("wheel", "--no-deps", "--wheel-dir", str(wheelhouse), str(project_dir))
    constraints = wheelhouse.parent / "constraints.txt"
    constraints.write_text("\n".join(pinned_versions()) + "\n")
    own_wheel = next(wheelhouse.glob("sentiment_api-*.whl"))
    platforms = [f"--platform=manylinux_2_{minor}_x86_64" for minor in GLIBC_MINOR_RANGE]
    _pip(
        "download", "--dest", str(wheelhouse), "--only-binary=:all:", *platforms,
        f"--python-version={PYTHON_VERSION}", "--implementation=cp", "--abi=cp311",
        "--constraint", str(constraints), str(own_wheel),
    )  # fmt: skip
    return sorted(p.name for p in wheelhouse.glob("*.whl"))
