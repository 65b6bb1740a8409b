"""`python -m bench serve|soak|pipeline`: numbers for the README, measured on this machine.

serve: the service against its peers, each server alone while it is measured (bench/serving.py says
how); reports req/s, p50/p99, CPU per request, launch-to-ready, worker RSS and every serving target,
met or not, in artifacts/reports/bench.json.
soak: 60 s of wrk at concurrency 64 on /predict against `python -m sentiment serve`; fails on any
error or non-2xx, or if a worker's RSS grows by 10% or more (artifacts/reports/soak.json).
pipeline: runs `python -m pipeline` twice (the second on an unchanged tree) and
reports seconds per stage.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from bench.servers import start_server, worker_rss_mb, wrk
from bench.serving import format_serve, serve
from pipeline.environments import processes
from pipeline.reports import write_json
from pipeline.settings import get_settings
from sentiment.artifact import ArtifactError, verify


def soak(seconds: int, connections: int, workers: int) -> dict[str, Any]:
    """wrk at high concurrency for a long run: no errors allowed, worker RSS may grow < 10%."""
    settings = get_settings()
    body = json.dumps({"text": "a slow, muddled film that never finds its footing"})
    proc, url, _ = start_server("default", settings.serving_model_dir.resolve(), workers)
    try:
        wrk(f"{url}/predict", connections, 5, body)  # warm every thread's interpreter and the caches
        before = worker_rss_mb(proc.pid)
        run = wrk(f"{url}/predict", connections, seconds, body)
        after = worker_rss_mb(proc.pid)
    finally:
        processes.stop_group(proc.pid)
    growth = max(a / b - 1 for a, b in zip(after, before, strict=True))
    passed = run["errors"] == 0 and run["non_2xx"] == 0 and growth < 0.10
    return {"seconds": seconds, "connections": connections, "run": run, "rss_before_mb": before,
            "rss_after_mb": after, "max_rss_growth": round(growth, 4), "passed": passed}  # fmt: skip


def pipeline_timings() -> dict[str, Any]:
    from pipeline.__main__ import run_stages
    from pipeline.stages import names

    runs = {}
    for name in ("first", "unchanged_rerun"):
        runs[name] = {o.stage: round(o.seconds, 1) for o in run_stages(names())}
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["serve", "soak", "pipeline"])
    parser.add_argument("--connections", type=int, default=64, help="soak: wrk connections")
    parser.add_argument("--seconds", type=int, help="duration of each wrk run (default: serve 10, soak 60)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of every server")
    parser.add_argument(
        "--rounds", type=int, default=3, help="serve: rounds of runs; the table shows each run's median by req/s"
    )
    parser.add_argument(
        "--second-model", type=Path, help="serve: also load this artifact (e.g. a BiLSTM) and bench its /predict"
    )
    args = parser.parse_args(argv)
    reports = get_settings().reports_dir
    if args.what != "pipeline" and shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is not installed (apt-get install wrk)")
    if args.what == "serve":
        if args.second_model is not None:
            try:
                verify(args.second_model)
            except ArtifactError as exc:
                raise SystemExit(f"bench: --second-model: {exc}") from None
        second = args.second_model.resolve() if args.second_model else None
        results = serve(args.seconds or 10, args.workers, args.rounds, second)
        print(format_serve(results))
        write_json(reports / "bench.json", results)
    elif args.what == "soak":
        result = soak(args.seconds or 60, args.connections, args.workers)
        write_json(reports / "soak.json", result)
        print(json.dumps(result, indent=2))
        return 0 if result["passed"] else 1
    else:
        timings = pipeline_timings()
        print(json.dumps(timings, indent=2))
        write_json(reports / "bench-pipeline.json", timings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
