"""`python -m bench serve|soak|pipeline`: numbers for the README, measured on this machine.

serve: starts, side by side on loopback ports, the service as `python -m sentiment serve` runs it
(Granian, the default), the same under the gunicorn configuration (`--server gunicorn`), a
FastAPI + uvicorn peer serving the same artifact through sentiment.runtime (bench/fastapi_app.py,
`uvicorn --workers N`, as FastAPI's docs start it) and the naive per-request Keras baseline
(bench/naive_app.py under gunicorn); all with the same number of workers. With HAProxy installed,
also the floor: HAProxy answering /predict with a canned body and no application, so the same wrk
load shows what latency the machine itself adds (wrk and the server share its cores). Then, in
rounds, loads each with wrk (POST /predict with a sanity-set text at c32, plus c8 and GET /health,
the server's own ceiling, for the default server and gunicorn), and reports req/s, p50/p99, the
workers' CPU per request, launch-to-ready and worker RSS; ratios are medians of per-round ratios,
and each target of the serving issue is reported as met or not. With
`--second-model DIR` (an artifact of another architecture, e.g. a BiLSTM) the default server also
serves that artifact, and its /predict runs in the same rounds beside the first model's. Writes
artifacts/reports/bench.json.
soak: 60 s of wrk at concurrency 64 on /predict against `python -m sentiment serve`; fails on any
error or non-2xx, or if a worker's RSS grows by 10% or more (artifacts/reports/soak.json).
pipeline: runs `python -m pipeline` twice (the second on an unchanged tree) and
reports seconds per stage.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pipeline.environments import processes
from pipeline.records import ImageRecord
from pipeline.reports import write_json
from pipeline.settings import get_settings
from sentiment.artifact import ArtifactError, architecture, read_metadata, verify

REPO = Path(__file__).resolve().parents[1]
HOST = processes.LOOPBACK


def _wait_ready(url: str, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if processes.http_ok(url, timeout=1):
            return time.monotonic() - started
        time.sleep(0.01)
    raise TimeoutError(f"{url} not ready after {timeout:.0f}s")


SERVERS = {
    # name: (how it is started, what it serves)
    "default": "python -m sentiment serve (Granian)",
    "gunicorn": "python -m sentiment serve --server gunicorn",
    "fastapi": "uvicorn bench.fastapi_app:app --workers N (FastAPI + uvicorn peer)",
    "naive": "gunicorn bench.naive_app:api (Keras model.predict per request)",
    "floor": "haproxy answering a canned /predict body, no application: the machine's own latency",
}
FLOOR_BODY = '{"score": 0.211803, "label": "negative", "model_version": "000000000000"}'


SECOND = "second"  # the default server with the --second-model artifact


def server_command(name: str, bind: str, workers: int) -> list[str]:
    host, _, port = bind.rpartition(":")
    if name in ("default", SECOND):
        return [*processes.serve_command(bind), "--workers", str(workers)]
    if name == "gunicorn":
        return [*processes.serve_command(bind, "gunicorn"), "--workers", str(workers)]
    if name == "fastapi":
        return [sys.executable, "-m", "uvicorn", "bench.fastapi_app:app", "--host", host, "--port", port,
                "--workers", str(workers), "--no-access-log", "--log-level", "warning"]  # fmt: skip
    if name == "floor":
        return ["haproxy", "-db", "-f", str(floor_config(bind, workers))]
    assert name == "naive"
    return [*processes.gunicorn_command(bind, "bench.naive_app:api"), "--workers", str(workers)]


def floor_config(bind: str, threads: int) -> Path:
    """HAProxy answering every request itself with FLOOR_BODY: a server that costs next to nothing."""
    config = (
        f"global\n  nbthread {threads}\n"
        "defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n"
        f"frontend floor\n  bind {bind}\n"
        f"  http-request return status 200 content-type application/json string '{FLOOR_BODY}'\n"
    )
    with tempfile.NamedTemporaryFile("w", prefix="bench-floor-", suffix=".cfg", delete=False) as file:
        file.write(config)
    return Path(file.name)


def start_server(name: str, model_dir: Path, workers: int) -> tuple[subprocess.Popen, str, float]:
    port = processes.free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SERVE_", "GUNICORN_", "MODEL_"))},
        "MODEL_DIR": str(model_dir),
        "SERVE_ACCESSLOG": "",
        "GUNICORN_ACCESSLOG": "",
        "GUNICORN_LOGLEVEL": "warning",
    }
    command = server_command(name, f"{HOST}:{port}", workers)
    started = time.monotonic()
    log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(command, env=env, cwd=REPO, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://{HOST}:{port}"
    try:
        _wait_ready(url + ("/health" if name == "naive" else "/ready"), 120)
    except BaseException:
        processes.stop_group(proc.pid)
        raise SystemExit(f"bench: {name} did not become ready; see {log.name}") from None
    return proc, url, time.monotonic() - started


def worker_pids(master: int) -> list[int]:
    """The server's worker processes: the master's children, less multiprocessing's resource tracker
    (uvicorn's supervisor starts one); a server without children (HAProxy's threads) is its own worker."""
    pids = []
    for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split():
        try:
            if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(int(pid))
        except OSError:
            continue
    return pids or [master]


def worker_rss_mb(master: int) -> list[float]:
    rss = []
    for pid in worker_pids(master):
        status = Path(f"/proc/{pid}/status").read_text()
        rss.append(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024)
    return rss


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, connections: int, seconds: int, body: str | None) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        if body is not None:
            script.write(
                f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
            )
    threads = min(2, connections)
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s"]
    out = subprocess.run(
        [*command, "--latency", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    num = r"([\d.]+)(us|ms|s)"
    run = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(*re.match(num, lat["50"]).groups()),
        "p99_ms": _ms(*re.match(num, lat["99"]).groups()),
        "max_ms": _ms(*re.search(r"Latency\s+\S+\s+\S+\s+" + num, out).groups()),
        "non_2xx": float(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0.0,
        "errors": float(sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))),
    }
    run["failed"] = run["errors"] + run["non_2xx"]
    return run


def workers_cpu_seconds(master: int) -> float:
    """User + system CPU of the master's worker processes so far."""
    total = 0
    for pid in worker_pids(master):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def measured_wrk(master: int, url: str, connections: int, seconds: int, body: str | None) -> dict[str, float]:
    """A wrk run plus the workers' CPU per answered request: what a request costs the
    service, which is what the /predict vs /health target is about."""
    before = workers_cpu_seconds(master)
    run = wrk(url, connections, seconds, body)
    run["cpu_us_per_request"] = round(1e6 * (workers_cpu_seconds(master) - before) / max(run["rps"] * seconds, 1), 1)
    settle(master)
    return run


def settle(master: int, timeout: float = 30.0) -> None:
    """Wait until the server has finished the requests wrk left in flight (the naive baseline's 32
    take it seconds), so that the next run does not share the cores with them."""
    deadline = time.monotonic() + timeout
    busy = workers_cpu_seconds(master)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = workers_cpu_seconds(master)
        if now - busy < 0.01:  # under 5% of a core
            return
        busy = now


# (server, run name, path, connections): each round makes every run once, back to back.
RUNS = [
    ("default", "predict_c8", "/predict", 8),
    ("default", "predict_c32", "/predict", 32),
    ("default", "health_c32", "/health", 32),
    ("gunicorn", "gunicorn_predict_c32", "/predict", 32),
    ("gunicorn", "gunicorn_health_c32", "/health", 32),
    ("fastapi", "fastapi_predict_c32", "/predict", 32),
    ("naive", "naive_keras_c32", "/predict", 32),
    ("floor", "floor_c32", "/predict", 32),
]

# The serving issue's targets for the default server: (what, bench.json value, limit, at least?).
TARGETS = [
    ("/predict req/s over the FastAPI peer", ("ratios", "predict_vs_fastapi"), 2.0, True),
    ("/predict req/s over the gunicorn configuration", ("ratios", "predict_vs_gunicorn"), 1.8, True),
    ("/predict req/s over the naive Keras baseline", ("ratios", "predict_vs_naive"), 100.0, True),
    ("/predict p99 at c32, ms", ("runs", "predict_c32", "p99_ms"), 10.0, False),
    ("/predict errors and non-2xx at c32, all rounds", ("failed_requests", "predict_c32"), 0.0, False),
    ("launch to ready, s", ("launch_to_ready_s", "default"), 1.0, False),
    ("largest worker RSS, MB", ("worker_rss_max_mb", "default"), 100.0, False),
]


def model_summary(directory: Path) -> dict[str, Any]:
    """Architecture, version and held-out quality of an artifact, as training recorded them."""
    meta = read_metadata(directory)
    name, version = architecture(meta)
    return {"dir": str(directory), "architecture": f"{name} v{version}", "version": meta["version"],
            "test": meta.get("metrics", {}).get("test", {})}  # fmt: skip


def serve(seconds: int, workers: int, rounds: int, second_model: Path | None = None) -> dict[str, Any]:
    """Every server up at once; rounds of all runs, so a round's runs see the same machine."""
    settings = get_settings()
    model_dir = settings.serving_model_dir.resolve()
    servers = dict(SERVERS)
    planned = list(RUNS)
    if shutil.which("haproxy") is None:
        print("bench: haproxy is not installed: no floor run (apt-get install haproxy)", flush=True)
        del servers["floor"]
        planned = [run for run in planned if run[0] != "floor"]
    models = {"default": model_summary(model_dir)}
    if second_model is not None:
        second_model = second_model.resolve()
        models[SECOND] = model_summary(second_model)
        servers[SECOND] = f"python -m sentiment serve (Granian) with {models[SECOND]['architecture']}"
        planned.insert(2, (SECOND, "second_predict_c32", "/predict", 32))
    body = json.dumps(
        {"text": json.loads((REPO / "quality_gates/sanity_set.jsonl").read_text().splitlines()[0])["text"]}
    )
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "seconds_per_run": seconds,
        "workers": workers,
        "rounds": rounds,
        "servers": servers,
        "models": models,
    }
    by_round: list[dict[str, dict[str, float]]] = [{} for _ in range(rounds)]
    started: dict[str, tuple[subprocess.Popen, str]] = {}
    launch: dict[str, float] = {}
    try:
        for name in servers:  # one at a time, so each launch->ready is its own
            proc, url, launch[name] = start_server(name, second_model if name == SECOND else model_dir, workers)
            started[name] = (proc, url)
        for _, url in started.values():
            wrk(f"{url}/predict", 32, 2, body)  # warm every thread's interpreter and the token cache
        for runs in by_round:
            for name, run, path, connections in planned:
                proc, url = started[name]
                payload = body if path == "/predict" else None
                runs[run] = measured_wrk(proc.pid, url + path, connections, seconds, payload)
        results["launch_to_ready_s"] = {name: round(s, 3) for name, s in launch.items()}
        rss = {name: worker_rss_mb(proc.pid) for name, (proc, _) in started.items()}
        results["worker_rss_mb"] = {name: [round(r, 1) for r in values] for name, values in rss.items()}
        results["worker_rss_max_mb"] = {name: max(values) for name, values in results["worker_rss_mb"].items()}
    finally:
        for proc, _ in started.values():
            processes.stop_group(proc.pid)
    built = ImageRecord.path(settings.artifacts_dir).exists()
    size = ImageRecord.read(settings.artifacts_dir).size_bytes if built else None
    results["image_size_mb"] = round(size / 1e6) if size else None
    results.update(summarise(by_round))
    results["targets"] = check_targets(results)
    return results


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with this run's value and whether it is met."""
    checked = []
    for what, path, limit, at_least in TARGETS:
        value: Any = results
        for key in path:
            value = value[key]
        met = value >= limit if at_least else value <= limit
        checked.append({"target": what, "value": value, "limit": limit, "at_least": at_least, "met": met})
    return checked


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def summarise(by_round: list[dict[str, dict[str, float]]]) -> dict[str, Any]:
    """Per run name, the round with the median req/s. Ratios are medians of per-round ratios:
    this shared machine's speed varies 2-3x over minutes, and a round's runs are adjacent."""
    names = list(by_round[0])

    def ratio(a: str, b: str) -> list[float]:
        return [r[a]["rps"] / max(r[b]["rps"], 1e-9) for r in by_round]

    per_round = {
        "predict_vs_fastapi": ratio("predict_c32", "fastapi_predict_c32"),
        "predict_vs_gunicorn": ratio("predict_c32", "gunicorn_predict_c32"),
        "predict_vs_naive": ratio("predict_c32", "naive_keras_c32"),
        "predict_vs_health": ratio("predict_c32", "health_c32"),
        # /health's CPU per request over /predict's: the framework's share of a prediction's cost
        "predict_vs_health_cpu": [
            r["health_c32"]["cpu_us_per_request"] / max(r["predict_c32"]["cpu_us_per_request"], 1e-9) for r in by_round
        ],
    }
    if "second_predict_c32" in names:
        per_round["second_vs_predict"] = ratio("second_predict_c32", "predict_c32")
    return {
        "runs": {
            name: sorted((r[name] for r in by_round), key=lambda run: run["rps"])[len(by_round) // 2] for name in names
        },
        "all_rps": {name: [r[name]["rps"] for r in by_round] for name in names},
        "failed_requests": {name: sum(r[name]["failed"] for r in by_round) for name in names},
        "ratios": {name: round(_median(values), 3) for name, values in per_round.items()},
    }


def format_serve(results: dict[str, Any]) -> str:
    lines = [
        f"machine: {results['machine']}; {results['workers']} workers each; {results['seconds_per_run']} s per run; "
        f"median of {results['rounds']} rounds",
        f"{'run':<22}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'non-2xx':>9}{'errors':>8}{'cpu us/req':>12}",
    ]
    for name, r in results["runs"].items():
        lines.append(
            f"{name:<22}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['max_ms']:>9.1f}"
            f"{r['non_2xx']:>9.0f}{r['errors']:>8.0f}{r['cpu_us_per_request']:>12.0f}"
        )
    for name, how in results["servers"].items():
        lines.append(
            f"{name:<9} launch->ready {results['launch_to_ready_s'][name]:.2f} s, worker RSS MB "
            f"{results['worker_rss_mb'][name]}: {how}"
        )
    for name, model in results.get("models", {}).items():
        test = model["test"]
        quality = f"test accuracy {test['accuracy']:.4f}, ROC AUC {test['roc_auc']:.4f}" if test else "no metrics"
        lines.append(f"model of {name}: {model['architecture']} {model['version']}, {quality}")
    lines.append(f"image {results['image_size_mb'] or 'not built'}")
    ratios = results["ratios"]
    lines.append(
        f"ratios at c32 (default server's /predict): vs FastAPI {ratios['predict_vs_fastapi']:.2f}x, "
        f"vs gunicorn {ratios['predict_vs_gunicorn']:.2f}x, vs naive {ratios['predict_vs_naive']:.1f}x, "
        f"vs its /health {ratios['predict_vs_health']} by req/s, {ratios['predict_vs_health_cpu']} by CPU per request"
    )
    if "second_vs_predict" in ratios:
        lines.append(f"second model's /predict over the first's at c32: {ratios['second_vs_predict']:.3f}x")
    if "floor_c32" in results["runs"]:
        floor = results["runs"]["floor_c32"]
        lines.append(
            f"the machine's floor (HAProxy, no application) at c32: p50 {floor['p50_ms']:.2f} ms, "
            f"p99 {floor['p99_ms']:.2f} ms at {floor['rps']:.0f} req/s"
        )
    for target in results["targets"]:
        sign = ">=" if target["at_least"] else "<="
        verdict = "met" if target["met"] else "NOT MET"
        lines.append(f"target {target['target']}: {target['value']:g} {sign} {target['limit']:g}: {verdict}")
    return "\n".join(lines)


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
        results = serve(args.seconds or 10, args.workers, args.rounds, args.second_model)
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
