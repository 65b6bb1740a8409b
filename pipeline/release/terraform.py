"""Terraform, driven from the stages: one small wrapper over the terraform CLI.

Why not python-terraform: it is unmaintained since 2019 and wrong for Terraform 1.x
in exactly the calls we need (destroy passes the removed -force, output() parses an
old format, apply without skip_plan waits for approval); working around it meant
replacing those methods anyway. This module runs the CLI directly instead.

Offline provider installs: when the filesystem mirror (TF_PLUGIN_MIRROR, default
/opt/tf-plugins) exists and TF_CLI_CONFIG_FILE is not set, a CLI config pointing at
it is written under artifacts/terraform/ (a TF_CLI_CONFIG_FILE naming a missing file
counts as unset).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipeline.errors import StageError

INFRA = Path(__file__).resolve().parents[2] / "infra"
DEFAULT_MIRROR = "/opt/tf-plugins"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def cli_config(mirror: Path) -> str:
    return (
        "provider_installation {\n"
        f'  filesystem_mirror {{ path = "{mirror}" }}\n'
        '  direct { exclude = ["registry.terraform.io/*/*"] }\n'
        "}\n"
    )


def summarize_error(output: str) -> str:
    """The `Error:` lines of Terraform's output, joined on one line."""
    text = _ANSI.sub("", output)
    errors = []
    for block in re.split(r"\n(?=\S*\s*Error: )", text):
        match = re.search(r"Error: (.+?)(?:\n|$)((?:.*\n){0,6})", block)
        if match:
            detail = " ".join(ln.strip(" │╷╵") for ln in match.group(2).splitlines() if ln.strip(" │╷╵"))
            errors.append(f"{match.group(1).strip()}{': ' + detail[:300] if detail else ''}")
    if errors:
        return "; ".join(dict.fromkeys(errors))
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no output"


class Terraform:
    """One root stack (infra/<stack>) in one environment, with its own data directory."""

    def __init__(self, stack: str, environment: str, work_dir: Path, log: Callable[[str], None] = print) -> None:
        self.stack = stack
        self.environment = environment
        self.dir = INFRA / stack
        self.work_dir = work_dir / environment / stack
        self.log = log
        binary = shutil.which("terraform")
        if binary is None:
            raise StageError("terraform not found on PATH (Terraform >= 1.5 is required)", exit_code=2)
        self.binary = binary
        self.env = self._environment(work_dir)
        self._hold_data_dir()

    def _hold_data_dir(self) -> None:
        """Take this checkout's data directory for the stack, waiting while another run uses it.

        Two runs in one checkout (a rerun, a second terminal) share TF_DATA_DIR, the saved plan and
        the backend cache that `init -reconfigure` rewrites; one reading the file the other is
        writing fails with "unexpected end of JSON input". Across machines, the state lock decides.
        The lock is a POSIX record lock, held by this process until it exits, so creating the
        same stack again in one process (plan, then apply) does not wait for itself.
        """
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = (self.work_dir / "run.lock").open("a")
        try:
            fcntl.lockf(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.log(f"terraform {self.stack}: another run in this checkout is using {self.work_dir}; waiting")
            fcntl.lockf(self._lock_file, fcntl.LOCK_EX)

    def _environment(self, work_dir: Path) -> dict[str, str]:
        env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
        env["TF_DATA_DIR"] = str(self.work_dir / ".terraform")
        mirror = Path(os.environ.get("TF_PLUGIN_MIRROR", DEFAULT_MIRROR))
        configured = env.get("TF_CLI_CONFIG_FILE")
        if (not configured or not Path(configured).is_file()) and mirror.is_dir():
            config = work_dir / "cli.tfrc"
            config.parent.mkdir(parents=True, exist_ok=True)
            if not config.is_file() or config.read_text() != cli_config(mirror):
                # Atomically: another run may be starting terraform with this file right now.
                partial = config.with_name(f".{config.name}.{os.getpid()}")
                partial.write_text(cli_config(mirror))
                partial.replace(config)
            env["TF_CLI_CONFIG_FILE"] = str(config)
        return env

    @property
    def var_file(self) -> Path:
        return self.dir / "env" / f"{self.environment}.tfvars"

    def run(
        self, *args: str, ok_codes: tuple[int, ...] = (0,), quiet: bool = False
    ) -> subprocess.CompletedProcess[str]:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        command = [self.binary, f"-chdir={self.dir}", *args, "-no-color"]
        proc = subprocess.Popen(command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines: list[str] = []
        try:
            self._follow(proc, lines, quiet)
        except KeyboardInterrupt:
            # Ctrl-C (or Jenkins' abort) reached terraform too: it stops at a safe point and
            # releases the state lock. Leaving before it has done so would leave the lock behind.
            self.log(f"terraform {self.stack}: interrupted; waiting for terraform to release the state lock")
            self._follow(proc, lines, quiet=True)
            raise
        output = "".join(lines)
        if proc.returncode not in ok_codes:
            raise StageError(f"terraform {args[0]} of infra/{self.stack} failed: {self._explain(output)}")
        return subprocess.CompletedProcess(command, proc.returncode, output, "")

    def _follow(self, proc: subprocess.Popen[str], lines: list[str], quiet: bool) -> None:
        """Collect the output until terraform exits, echoing progress on long steps."""
        for line in proc.stdout or ():
            lines.append(line)
            # Resource-level lines, not the whole plan.
            if not quiet and re.match(
                r"^\S.*: (Creating|Destroying|Modifying|Creation complete|Destruction complete|Still)", line
            ):
                self.log(f"terraform {self.stack}: {line.rstrip()}")
        proc.wait()

    def _explain(self, output: str) -> str:
        """The error on one line; for a held state lock, also its id and the command that releases it."""
        summary = summarize_error(output)
        lock = re.search(r"Lock Info:\s*\n[\s│]*ID:\s*(\S+)", _ANSI.sub("", output))
        if lock is None:
            return summary
        unlock = f"TF_DATA_DIR={self.env['TF_DATA_DIR']} terraform -chdir={self.dir} force-unlock {lock.group(1)}"
        return (
            f"the state of infra/{self.stack} ({self.environment}) is locked by another run (lock id {lock.group(1)}); "
            f"if no other run is active, release it with: {unlock}"
        )

    def init(self, backend: Mapping[str, str]) -> None:
        """`terraform init`, unless this data directory was initialised with exactly these inputs (the
        backend, the provider lock, every .tf file under infra/, the CLI config and AWS endpoints): a rerun
        with nothing changed does not initialise again."""
        backend_file = self.dir / "backend" / f"{self.environment}.s3.tfbackend"
        args = ["init", "-input=false", "-reconfigure", f"-backend-config={backend_file}"]
        args += [f"-backend-config={k}={v}" for k, v in backend.items()]
        stamp, inputs = self.work_dir / "init.stamp", self._init_inputs(args)
        initialised = (self.work_dir / ".terraform" / "terraform.tfstate").is_file()
        if initialised and stamp.is_file() and stamp.read_text() == inputs:
            self.log(f"terraform {self.stack}: initialised with these inputs already; no init")
            return
        stamp.unlink(missing_ok=True)
        self.run(*args, quiet=True)
        stamp.write_text(self._init_inputs(args))  # after: init may have written the provider lock

    def _init_inputs(self, args: list[str]) -> str:
        binary = Path(self.binary).stat()
        digest = hashlib.sha256("\0".join([self.binary, str(binary.st_mtime_ns), str(binary.st_size), *args]).encode())
        files = [self.dir / ".terraform.lock.hcl", *sorted(INFRA.rglob("*.tf"))]
        if config := self.env.get("TF_CLI_CONFIG_FILE"):
            files.append(Path(config))
        for path in files:
            digest.update(str(path).encode() + b"\0" + (path.read_bytes() if path.is_file() else b"-"))
        endpoints = sorted((k, v) for k, v in self.env.items() if k.startswith("AWS_ENDPOINT_URL"))
        digest.update(json.dumps(endpoints).encode())
        return digest.hexdigest()

    def _var_args(self, variables: Mapping[str, Any]) -> list[str]:
        args = [f"-var-file={self.var_file}"]
        for name, value in variables.items():
            args.append(f"-var={name}={json.dumps(value) if not isinstance(value, str) else value}")
        return args

    def plan(self, variables: Mapping[str, Any], out: Path, destroy: bool = False) -> bool:
        """Save a plan to `out`; True if it changes anything."""
        out = out.resolve()  # terraform runs with -chdir into the stack
        out.parent.mkdir(parents=True, exist_ok=True)
        args = ["plan", "-input=false", "-detailed-exitcode", f"-out={out}", *self._var_args(variables)]
        if destroy:
            args.append("-destroy")
        return self.run(*args, ok_codes=(0, 2), quiet=True).returncode == 2

    def apply(self, plan_file: Path) -> None:
        """Apply exactly a saved plan (no new plan, no approval prompt)."""
        if not plan_file.is_file():
            raise StageError(f"no saved plan at {plan_file}: run the plan step first", exit_code=2)
        self.run("apply", "-input=false", "-auto-approve", str(plan_file.resolve()))

    def outputs(self) -> dict[str, Any]:
        command = [self.binary, f"-chdir={self.dir}", "output", "-json", "-no-color"]
        proc = subprocess.run(command, env=self.env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise StageError(f"terraform output of infra/{self.stack} failed: {summarize_error(proc.stderr)}")
        return {name: item["value"] for name, item in json.loads(proc.stdout or "{}").items()}

    def destroy(self, variables: Mapping[str, Any]) -> None:
        """`apply -destroy`, run a second time when a delete read NotFound: the first answer to it was lost
        (a timeout on a busy endpoint), the SDK asked again and the object was gone already. AWS's own
        NotFound codes are ignored by the provider; the emulator's are not all the same codes. The second
        run refreshes the state and deletes what is left."""
        args = ("apply", "-destroy", "-input=false", "-auto-approve", *self._var_args(variables))
        try:
            self.run(*args)
        except StageError as exc:
            if "NotFound" not in str(exc):
                raise
            self.log(f"terraform {self.stack}: a delete found its object gone already; destroying again")
            self.run(*args)
