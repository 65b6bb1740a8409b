"""A CycloneDX SBOM of the Python packages installed in an image, made at build.

The image's site-packages is copied out of the built image into an empty virtual environment of the
same Python (3.11, as the wheelhouse targets), and `cyclonedx-py environment` lists what it holds:
the SBOM describes the distributions in the image, read from their own metadata, not what was asked for.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

from pipeline.environments.container_engine import Engine
from pipeline.errors import StageError

SBOM_FILE = "sbom.cdx.json"
# Where the Dockerfile's virtual environment keeps its packages.
IMAGE_SITE_PACKAGES = "/opt/venv/lib/python3.11/site-packages"


def image_sbom(engine: Engine, reference: str, output: Path) -> Path:
    """Write the CycloneDX (JSON) SBOM of `reference`'s Python packages to `output`."""
    with tempfile.TemporaryDirectory(prefix="sbom-") as work:
        environment = Path(work) / "venv"
        venv.EnvBuilder(symlinks=True, with_pip=False).create(environment)
        site = environment / "lib" / "python3.11" / "site-packages"
        shutil.rmtree(site)
        engine.copy_out(reference, IMAGE_SITE_PACKAGES, site)
        output.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "cyclonedx_py", "environment", "--output-reproducible", "--of", "JSON"]
        done = subprocess.run(
            [*command, "-o", str(output), str(environment)], capture_output=True, text=True, timeout=300, check=False
        )
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines() or [f"exit {done.returncode}"]
            raise StageError(f"cyclonedx-py could not list the packages of {reference}: {detail[-1]}")
    return output
