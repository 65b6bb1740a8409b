"""Stage `build`: build, tag and push the serving image; record it.

Reads the published version (`records.PublishedVersion`, or --model-version) and the
source tree; writes `records.ImageRecord`. The tag is `<git-sha12>-<model-version>`
(`pipeline.release.image_tag`), never `latest`. The environment says where images go
(ECR in dev/qa/prod, a local image registry in `local`). A tag the image registry already holds is
reused, not rebuilt: the tag names the code and the model, and ECR's tags are immutable. The pushed
image is signed by digest (`pipeline.supply_chain.image_signatures`), a reused one unless it is already.
Without a container engine, `local` goes on without an image (deploy then serves from this
checkout) and the other environments stop.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm

from pipeline import environments
from pipeline.environments import Environment, container_engine
from pipeline.environments.container_engine import Engine
from pipeline.errors import StageError, log, run
from pipeline.model_registry import ModelRegistryWriter
from pipeline.provenance import git_sha
from pipeline.records import ImageRecord, ProvisionedStack, PublishedVersion, Stage
from pipeline.release import wheelhouse
from pipeline.release.deployment import checked_version
from pipeline.release.image_tag import PROJECT_DIR, image_tag
from pipeline.release.sbom import SBOM_FILE, image_sbom
from pipeline.settings import PipelineSettings, get_settings
from pipeline.supply_chain import image_signatures
from pipeline.supply_chain.image_signatures import ImageSignatureError
from pipeline.supply_chain.keys import image_public_key_file, image_signing_key, trusted_image_key
from pipeline.supply_chain.oci_registry import RegistryError

STAGE = "build"
DECLARATION = Stage(
    STAGE, reads=(PublishedVersion, ProvisionedStack), writes=(ImageRecord,),
    inputs="the source tree", outputs="the image (signed, with its SBOM), pushed",
)  # fmt: skip


def build_image(settings: PipelineSettings, engine: Engine, reference: str, labels: dict[str, str]) -> None:
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


def stored_sbom(
    model_registry: ModelRegistryWriter,
    engine: Engine,
    reference: str,
    version: str,
    digest: str,
    insecure: bool,
    reports: Path,
) -> Path:
    """<reports>/sbom.cdx.json (Jenkins archives it): the image's SBOM, made once per image digest and kept
    beside the model version it serves."""
    local = reports / SBOM_FILE
    stored = model_registry.sbom(version, digest)
    if stored is not None:
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(stored)
        return local
    if not engine.image_exists(reference):
        engine.pull(reference, insecure=insecure)
    log(STAGE, f"listing the image's Python packages (CycloneDX SBOM: {local})")
    image_sbom(engine, reference, local)
    model_registry.put_sbom(version, digest, local.read_bytes())
    return local


def signed(environment: Environment, pinned: str, reused: bool) -> None:
    """Sign the pushed image by digest with the environment's image key (the signature is stored beside it in
    the image registry), unless it already carries a signature that verifies (a reused image). The result is
    checked with the environment's public key, so a bound key that does not match stops the build here."""
    repository, _, _ = pinned.partition("@")
    image_registry, _, name = repository.partition("/")
    access = environment.image_registry_access(image_registry, name)
    if reused and image_public_key_file(environment.settings).is_file():
        try:
            image_signatures.verify(pinned, access.reader(), trusted_image_key(environment.settings))
            log(STAGE, f"{pinned} is already signed with {environment.name}'s image key")
            return
        except ImageSignatureError:
            pass  # signed by no one (built before signing) or by a retired key: sign it now
    key = image_signing_key(environment.settings, lambda message: log(STAGE, message))
    try:
        access.upload(image_signatures.signature_upload(pinned, key.read_bytes()))
        image_signatures.verify(pinned, access.reader(), trusted_image_key(environment.settings))
    except (ImageSignatureError, RegistryError) as exc:
        raise StageError(f"signing {pinned}: {exc}") from None
    except (ValueError, TypeError, UnsupportedAlgorithm):  # cryptography: not an unencrypted PEM private key
        raise StageError(f"signing {pinned}: {key} is not an unencrypted PEM private key") from None
    log(STAGE, f"signed {pinned} ({image_signatures.signature_tag(pinned.partition('@')[2])} in {repository})")


def build(environment: Environment, engine: Engine, model_version: str | None = None) -> ImageRecord:
    settings = environment.settings
    environment.connect()
    model_version = model_version or PublishedVersion.read(settings.artifacts_dir).version
    model_registry = environment.model_registry()
    if model_version == "champion":
        model_version = model_registry.resolve("champion")
    model_registry.verified_manifest(model_version)  # an image is built only for a version that verifies
    sha = git_sha()
    tag = image_tag(sha, model_version)
    destination = environment.image_destination(engine)
    repository = f"{destination.registry}/{destination.repository}"
    reference = f"{repository}:{tag}"
    digest = environment.image_digest(destination, tag)
    reused = digest is not None
    if digest is not None:
        log(STAGE, f"{reference} is already in the image registry ({digest}); reusing it")
    else:
        build_image(settings, engine, reference, {"GIT_SHA": sha, "MODEL_VERSION": model_version})
        log(STAGE, f"pushing {reference}")
        digest = engine.push(reference, insecure=destination.insecure)
    signed(environment, f"{repository}@{digest}", reused)
    size = engine.inspect(reference)["Size"] if engine.image_exists(reference) else None
    sbom = stored_sbom(
        model_registry, engine, reference, model_version, digest, destination.insecure, settings.reports_dir
    )
    record = ImageRecord(
        reference=reference,
        digest=digest,
        pinned=f"{repository}@{digest}",
        registry=destination.registry,
        repository=destination.repository,
        tag=tag,
        git_sha=sha,
        model_version=model_version,
        engine=engine.name,
        base_image=settings.base_image or "Dockerfile default",
        size_bytes=size,
        reused=reused,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        sbom=f"s3://{model_registry.bucket}/{model_registry.sbom_key(model_version, digest)}",
        sbom_sha256=hashlib.sha256(sbom.read_bytes()).hexdigest(),
    )
    path = record.write(settings.artifacts_dir)
    size_text = f", {size / 1e6:.0f} MB" if size else ""
    log(STAGE, f"{reference} ({digest}{size_text}) recorded in {path}")
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.build", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model-version", help="model version (or `champion`) the image serves (default: the published version)"
    )
    args = parser.parse_args(argv)
    model_version = checked_version(args.model_version) if args.model_version else None
    settings = get_settings()
    environment = environments.current(settings)
    engine = container_engine.find(settings.container_engine)
    if engine is None:
        looked_for = settings.container_engine or " and ".join(container_engine.ENGINES)
        if not environment.serves_without_image:
            raise StageError(f"no working container engine (looked for {looked_for})", exit_code=2)
        ImageRecord.path(settings.artifacts_dir).unlink(missing_ok=True)
        log(
            STAGE, f"no working container engine (looked for {looked_for}); {environment.name} goes on without an image"
        )
        return 0
    build(environment, engine, model_version)
    return 0


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
