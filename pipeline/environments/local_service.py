"""What the local environment's servers have in common: the AWS emulator, the image registry, Prometheus.

Each runs on 127.0.0.1 and is driven the same way, by its state directory: `up` starts it (on the
port given, or any free one), waits until it answers and records it in <state_dir>/state.json;
`status` is the recorded server if it still runs and answers; `down` stops only the server `up`
started, never anything else on the port. `python -m pipeline.local <service> up|down|status`
is the command for all three.
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from pipeline.environments import processes
from pipeline.errors import StageError

HOST = processes.LOOPBACK


class LocalService(ABC):
    """One kind of local server; stateless (the state directory is passed to each call)."""

    title: ClassVar[str]  # e.g. "local AWS emulator"
    ready_path: ClassVar[str]  # answers 200 once the server is ready
    log_name: ClassVar[str]
    ready_timeout_s: ClassVar[float] = 30
    stop_grace_s: ClassVar[float] = 5
    # Restart on the port it had (recorded image references name it), so `down` keeps the record.
    keeps_port: ClassVar[bool] = False

    @abstractmethod
    def command(self, state_dir: Path, port: int) -> list[str]:
        """The server's command line; StageError if its program is missing."""

    def url(self, recorded: processes.Recorded) -> str:
        return f"http://{HOST}:{recorded.port}"

    def answers(self, url: str) -> bool:
        return processes.http_ok(f"{url}{self.ready_path}")

    def status(self, state_dir: Path) -> processes.Recorded | None:
        """The server recorded in state_dir, if it still runs and answers."""
        return _state(state_dir).running(lambda recorded: self.answers(self.url(recorded)))

    def up(self, state_dir: Path, port: int = 0) -> processes.Recorded:
        """The running server of state_dir, or a new one once it answers."""
        if (running := self.status(state_dir)) is not None:
            return running
        previous = _state(state_dir).read() if self.keeps_port else None
        if not port and previous and processes.port_is_free(previous.port):
            port = previous.port
        port = port or processes.free_port()
        state_dir.mkdir(parents=True, exist_ok=True)
        command = self.command(state_dir, port)
        log_path = state_dir / self.log_name
        url = f"http://{HOST}:{port}"
        try:
            return _state(state_dir).start(command, port, log_path, lambda: self.answers(url), self.ready_timeout_s)
        except processes.NotReady:
            raise StageError(f"the {self.title} did not start on port {port}; see {log_path}", exit_code=2) from None

    def down(self, state_dir: Path) -> bool:
        """Stop the server `up` started here; False if there was none."""
        state = _state(state_dir)
        recorded = state.running()
        if recorded is not None:
            recorded.stop(grace_s=self.stop_grace_s)
        if not self.keeps_port:
            state.clear()
        return recorded is not None


def program(name: str, install_hint: str, path: str | None = None) -> str:
    """The full path of a server's program; StageError saying how to install it if it is missing."""
    found = shutil.which(name, path=path)
    if found is None:
        raise StageError(f"{name} not found: {install_hint}", exit_code=2)
    return found


def _state(state_dir: Path) -> processes.StateFile:
    return processes.StateFile(state_dir / "state.json")
