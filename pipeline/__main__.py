"""`python -m pipeline`: run the stages in order for the current PROJECT_ENV, stop at the first failure."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from dataclasses import dataclass

from pipeline import STAGES
from pipeline.errors import run
from pipeline.settings import get_settings


@dataclass(frozen=True)
class Outcome:
    stage: str
    exit_code: int
    seconds: float
    artifact: str

    @property
    def status(self) -> str:
        return "ok" if self.exit_code == 0 else f"FAILED ({self.exit_code})"


def select(start: str | None, stop: str | None, only: str | None) -> list[str]:
    if only:
        return [only]
    first = STAGES.index(start) if start else 0
    last = STAGES.index(stop) if stop else len(STAGES) - 1
    if first > last:
        raise SystemExit(f"pipeline: --from {start} comes after --to {stop}")
    return list(STAGES[first : last + 1])


def run_stages(stages: list[str]) -> list[Outcome]:
    outcomes = []
    for stage in stages:
        print(f"\n=== {stage} ===", flush=True)
        module = importlib.import_module(f"pipeline.stages.{stage}")
        started = time.monotonic()
        code = run(stage, module.main, [])
        written = str(module.WRITES.path(get_settings().artifacts_dir))
        outcomes.append(Outcome(stage, code, time.monotonic() - started, written))
        if code != 0:
            break
    return outcomes


def format_table(outcomes: list[Outcome], planned: list[str]) -> str:
    lines = [f"{'stage':<12}{'outcome':<14}{'seconds':>8}  artifact"]
    lines += [f"{o.stage:<12}{o.status:<14}{o.seconds:>8.1f}  {o.artifact}" for o in outcomes]
    lines += [f"{s:<12}{'not run':<14}{'':>8}" for s in planned[len(outcomes) :]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    parser.add_argument("--list", action="store_true", help="print the stages in order and exit")
    parser.add_argument("--from", dest="start", choices=STAGES, help="first stage to run")
    parser.add_argument("--to", dest="stop", choices=STAGES, help="last stage to run")
    parser.add_argument("--only", choices=STAGES, help="run just this stage")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(STAGES))
        return 0
    planned = select(args.start, args.stop, args.only)
    outcomes = run_stages(planned)
    print("\n" + format_table(outcomes, planned))
    failed = [o for o in outcomes if o.exit_code != 0]
    return failed[0].exit_code if failed else 0


if __name__ == "__main__":
    sys.exit(main())
