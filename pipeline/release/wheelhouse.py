"""The wheelhouse the image installs from with --no-index, so the image build needs no network.

Wheels are fetched on the build host for the image's platform (CPython 3.11 on glibc
>= 2.17, i.e. any current Debian-based Python image), pinned to the versions installed
in the environment the tests ran in, plus this project's own wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from pipeline.errors import StageError

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


# Every entry of the project's wheel gets this time (1980-01-01, the zip format's first): its bytes then
# depend on its content only, so the image's install layer is reused while the service is unchanged.
WHEEL_TIMESTAMP = "315532800"
# What the wheel is built from, copied out of the checkout: setuptools' build/ directory there would
# otherwise put a module deleted since the last build back into the wheel.
WHEEL_SOURCES = ("pyproject.toml", "README.md", "src")
# The index is the build's only network peer: pip's default 5 retries back off for about 8 s in all,
# 10 for about four minutes (urllib3 doubles the pause from 0.5 s), so an index or proxy that blinks
# does not fail a release.
INDEX_RETRIES = 10


def _pip(*args: str, env: dict[str, str] | None = None) -> None:
    try:
        subprocess.run(
            [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check", *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
            env=env,
        )
    except subprocess.CalledProcessError as exc:
        lines = [ln for ln in (exc.stderr or "").splitlines() if ln.startswith("ERROR")] or ["no output"]
        raise StageError(f"pip {args[0]} failed: {lines[-1]}") from exc


def copy_sources(project_dir: Path, destination: Path) -> None:
    """WHEEL_SOURCES of project_dir into destination, without bytecode or setuptools' egg-info."""
    for name in WHEEL_SOURCES:
        if (project_dir / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
            shutil.copytree(project_dir / name, destination / name, ignore=ignore)
        else:
            shutil.copy2(project_dir / name, destination / name)


def project_wheel(project_dir: Path, wheelhouse: Path) -> Path:
    """This project's wheel from its current sources only, the same bytes for the same sources."""
    with tempfile.TemporaryDirectory(prefix="wheel-source-") as tmp:
        copy_sources(project_dir, Path(tmp))
        env = {**os.environ, "SOURCE_DATE_EPOCH": WHEEL_TIMESTAMP}
        _pip("wheel", "--no-deps", "--wheel-dir", str(wheelhouse), tmp, env=env)
    return next(wheelhouse.glob("sentiment_api-*.whl"))


def build(project_dir: Path, wheelhouse: Path) -> list[str]:
    """Fill `wheelhouse` (emptied first) with the serving dependencies; returns the wheel file names."""
    shutil.rmtree(wheelhouse, ignore_errors=True)
    wheelhouse.mkdir(parents=True)
    own_wheel = project_wheel(project_dir, wheelhouse)
    constraints = wheelhouse.parent / "constraints.txt"
    constraints.write_text("\n".join(pinned_versions()) + "\n")
    platforms = [f"--platform=manylinux_2_{minor}_x86_64" for minor in GLIBC_MINOR_RANGE]
    _pip(
        "download", f"--retries={INDEX_RETRIES}", "--dest", str(wheelhouse), "--only-binary=:all:", *platforms,
        f"--python-version={PYTHON_VERSION}", "--implementation=cp", "--abi=cp311",
        "--constraint", str(constraints), str(own_wheel),
    )  # fmt: skip
    return sorted(p.name for p in wheelhouse.glob("*.whl"))
