"""The container engine the build and local deploy use: the `docker` CLI, else `podman`.

Only the commands both CLIs share are used, so either works (podman also stands in for
a Docker engine through `podman system service`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import StageError

ENGINES = ("docker", "podman")


@dataclass(frozen=True)
class Engine:
    name: str
    path: str

    def _run(self, *args: str, input_: str | None = None, timeout: float = 120) -> str:
        try:
            done = subprocess.run(
                [self.path, *args], input=input_, capture_output=True, text=True, check=True, timeout=timeout
            )
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or exc.stdout or "").strip().splitlines() or [f"exit {exc.returncode}"]
            raise StageError(f"{self.name} {args[0]} failed: {detail[-1]}") from None
        except subprocess.TimeoutExpired as exc:
            raise StageError(f"{self.name} {args[0]} took longer than {timeout:.0f} s") from exc
        return done.stdout

    def build(self, context: Path, dockerfile: Path, tag: str, build_args: dict[str, str], log: Path) -> None:
        """Build with output streamed to `log` (a build takes a minute; its log is the place to look)."""
        args = [f"--build-arg={k}={v}" for k, v in build_args.items() if v]
        # podman writes OCI images by default, which drop HEALTHCHECK; the docker format keeps it.
        formats = ["--format=docker"] if self.name == "podman" else []
        command = [self.path, "build", *formats, "--file", str(dockerfile), "--tag", tag, *args, str(context)]
        with log.open("w") as out:
            done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
        if done.returncode != 0:
            tail = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()][-1:] or ["no output"]
            raise StageError(f"{self.name} build failed: {tail[0]} (full log: {log})")

    def image_exists(self, reference: str) -> bool:
        try:
            self._run("image", "inspect", reference)
        except StageError:
            return False
        return True

    def inspect(self, reference: str) -> dict:
        return json.loads(self._run("image", "inspect", reference))[0]

    def login(self, registry: str, username: str, password: str) -> None:
        self._run("login", "--username", username, "--password-stdin", registry, input_=password)

    def push(self, reference: str, insecure: bool = False) -> str:
        """Push and return the manifest digest the registry now holds under the tag."""
        if self.name == "podman":
            tls = ["--tls-verify=false"] if insecure else []
            with tempfile.TemporaryDirectory() as tmp:
                digest_file = Path(tmp) / "digest"
                self._run("push", *tls, "--digestfile", str(digest_file), reference, timeout=600)
                return digest_file.read_text().strip()
        # docker treats 127.0.0.0/8 registries as insecure by itself and records the digest.
        self._run("push", reference, timeout=600)
        repository = reference.rsplit(":", 1)[0]
        for repo_digest in self.inspect(reference).get("RepoDigests", []):
            name, _, digest = repo_digest.partition("@")
            if name == repository:
                return digest
        raise StageError(f"docker pushed {reference} but reports no digest for it")

    def copy_out(self, reference: str, source: str, destination: Path) -> None:
        """Copy `source` (a path in the image) to `destination` on this machine, without running the image."""
        container = self._run("create", reference).strip()
        try:
            self._run("cp", f"{container}:{source}", str(destination), timeout=300)
        finally:
            self._run("rm", container)

    def pull(self, reference: str, insecure: bool = False) -> None:
        tls = ["--tls-verify=false"] if insecure and self.name == "podman" else []
        self._run("pull", *tls, reference, timeout=600)

    def run_command(self, reference: str, name: str, env_names: list[str], insecure: bool = False) -> list[str]:
        """A foreground, hardened `run` on the host network; env values come from the caller's environment.

        Foreground so the caller owns the process: SIGTERM to it reaches the container
        (the CLI proxies signals) and --rm cleans up.
        """
        podman = ["--no-healthcheck"] if self.name == "podman" else []  # podman times checks with systemd
        if insecure and self.name == "podman":
            podman.append("--tls-verify=false")
        env = [f"--env={n}" for n in env_names]  # names only: values never appear on a command line
        return [
            self.path, "run", "--rm", *podman, "--name", name, "--network=host",
            "--read-only", "--tmpfs=/tmp", "--cap-drop=ALL", "--security-opt=no-new-privileges",
            *env, reference,
        ]  # fmt: skip


def find(preferred: str | None = None) -> Engine | None:
    """The first engine whose CLI exists and reaches its engine; None if there is none."""
    for name in [preferred] if preferred else ENGINES:
        path = shutil.which(name)
        if path is None:
            continue
        try:
            subprocess.run([path, "info"], capture_output=True, check=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            continue
        return Engine(name, path)
    return None
