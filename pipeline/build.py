"""Stage `build`: build, tag and push the serving image; record it in artifacts/image.json.

The tag is `<git-sha12>-<model-version>` (a tree with uncommitted changes adds
`-dirty<hash>` to the sha part), never `latest`. dev/qa/prod push to the environment's
ECR repository (login through ECR's authorization token); `local` pushes to the local
registry (pipeline.image_registry, started if needed). A tag the registry already holds
is reused, not rebuilt: the tag names the code and the model, and ECR's tags are immutable.
Without a container engine, `local` goes on without an image (deploy then serves with
gunicorn) and the other environments stop.

artifacts/image.json: {"reference", "digest", "pinned" (reference@digest), "registry",
"repository", "tag", "git_sha", "model_version", "engine", "base_image", "size_bytes",
"reused", "built_at"}.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import aws, container_engine, image_registry, wheelhouse
from pipeline.cli import StageError, log, run
from pipeline.deploy import read_artifact
from pipeline.provenance import git_sha
from pipeline.reports import write_json
from sentiment.settings import Settings, get_settings

STAGE = "build"
ARTIFACT = "artifacts/image.json"
PROJECT_DIR = Path(__file__).resolve().parent.parent


def _git(*args: str) -> bytes:
    return subprocess.run(["git", *args], capture_output=True, check=True, timeout=30, cwd=PROJECT_DIR).stdout


def code_revision(sha: str) -> str:
    """sha12, plus a hash of what is not committed (changes to tracked files, and untracked
    files git does not ignore, which the image's wheel would also pick up) if there is any."""
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


def destination(settings: Settings, engine: container_engine.Engine) -> tuple[str, str]:
    """(registry address, repository) for the environment; logs the engine in to ECR."""
    if settings.project_env == "local":
        registry = image_registry.up(settings.local_registry_dir, settings.local_registry_port)
        return registry.address, settings.ecr_repository
    provision = read_artifact(settings.artifacts_dir / "provision.json", "provision")
    registry, _, repository = provision["repository_url"].partition("/")
    engine.login(*image_registry.ecr_credentials(settings))
    return registry, repository


def existing_digest(settings: Settings, registry: str, repository: str, tag: str) -> str | None:
    if settings.project_env == "local":
        return image_registry.local_digest(registry, repository, tag)
    return image_registry.ecr_digest(settings, repository, tag)


def build_image(settings: Settings, engine: container_engine.Engine, reference: str, labels: dict[str, str]) -> None:
    build_dir, build_log = settings.artifacts_dir / "build", settings.artifacts_dir / "image-build.log"
    log(STAGE, "filling the wheelhouse (serving dependencies, pinned to the tested versions)")
    wheels = wheelhouse.build(PROJECT_DIR, build_dir / "wheelhouse")
    log(STAGE, f"{len(wheels)} wheels; building {reference} with {engine.name} (log: {build_log})")
    started = time.monotonic()
    engine.build(
        build_dir,  # the context: only the wheelhouse (and the constraints it was fetched with)
        PROJECT_DIR / "Dockerfile",
        reference,
        {"BASE_IMAGE": settings.base_image, **labels, "IMAGE_REF": reference},
        build_log,
    )
    log(STAGE, f"built in {time.monotonic() - started:.0f} s")


def build(settings: Settings, engine: container_engine.Engine, model_version: str | None = None) -> dict[str, Any]:
    aws.connect(settings)
    model_version = model_version or read_artifact(settings.artifacts_dir / "publish.json", "publish")["version"]
    if model_version == "champion":
        model_version = aws.registry(settings).resolve("champion")
    sha = git_sha()
    tag = f"{code_revision(sha)}-{model_version}"
    registry, repository = destination(settings, engine)
    reference = f"{registry}/{repository}:{tag}"
    insecure = settings.project_env == "local"
    digest = existing_digest(settings, registry, repository, tag)
    reused = digest is not None
    if reused:
        log(STAGE, f"{reference} is already in the registry ({digest}); reusing it")
    else:
        build_image(settings, engine, reference, {"GIT_SHA": sha, "MODEL_VERSION": model_version})
        log(STAGE, f"pushing {reference}")
        digest = engine.push(reference, insecure=insecure)
    size = engine.inspect(reference)["Size"] if engine.image_exists(reference) else None
    record = {
        "reference": reference,
        "digest": digest,
        "pinned": f"{registry}/{repository}@{digest}",
        "registry": registry,
        "repository": repository,
        "tag": tag,
        "git_sha": sha,
        "model_version": model_version,
        "engine": engine.name,
        "base_image": settings.base_image or "Dockerfile default",
        "size_bytes": size,
        "reused": reused,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_json(settings.artifacts_dir / "image.json", record)
    size_text = f", {size / 1e6:.0f} MB" if size else ""
    log(STAGE, f"{reference} ({digest}{size_text}) recorded in {settings.artifacts_dir / 'image.json'}")
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.build", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model-version", help="model version (or `champion`) the image serves (default: artifacts/publish.json)"
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    engine = container_engine.find(settings.container_engine)
    if engine is None:
        looked_for = settings.container_engine or " and ".join(container_engine.ENGINES)
        if settings.project_env != "local":
            raise StageError(f"no working container engine (looked for {looked_for})", exit_code=2)
        (settings.artifacts_dir / "image.json").unlink(missing_ok=True)
        log(STAGE, f"no working container engine (looked for {looked_for}); local goes on without an image")
        return 0
    build(settings, engine, args.model_version)
    return 0


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
