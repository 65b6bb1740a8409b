"""What every stage's command line shares: one readable error line and an exit code."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from sentiment.artifact import ArtifactError


class StageError(Exception):
    """A stage cannot go on. exit_code 1 = a check failed, 2 = bad input or setup."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _settings_problem(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors())


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(stage: str, main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    # Jenkins aborts a build with SIGTERM: let it unwind like Ctrl-C, so a stage can wait for
    # what it started (a terraform run holding the state lock) instead of vanishing under it.
    # SIGINT is set too: a process started in the background by a non-interactive shell (as CI
    # and many agents start their jobs) inherits SIGINT ignored, so Python installs no handler,
    # while terraform (Go) takes it back and stops with exit 1: the stage then ended with 1, not 130.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)
    try:
        return main(argv)
    except StageError as exc:
        print(f"{stage}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValidationError as exc:
        print(f"{stage}: error: invalid settings (.env or environment): {_settings_problem(exc)}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        print(f"{stage}: error: AWS: {exc}", file=sys.stderr)
        return 1
    except ArtifactError as exc:  # includes the registry's errors
        print(f"{stage}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{stage}: interrupted", file=sys.stderr)
        return 130


def log(stage: str, message: str) -> None:
    print(f"[{stage}] {message}", flush=True)
