"""`python -m bench serve`: the service against its peers, each server alone on the machine while it is measured.

A round starts each server in turn (the service as `python -m sentiment serve` runs it, Granian; the
gunicorn configuration; a FastAPI + uvicorn peer on the same artifact; the naive per-request Keras
baseline; with HAProxy installed, the floor: HAProxy answering /predict with a canned body, i.e. the
latency the machine itself adds under the same wrk load), warms it, loads it with wrk run after run,
and stops it before the next one starts: no idle server shares the cores with the one measured. The
order rotates from round to round, so each server is measured early and late in a round. Ratios are
medians of per-round ratios (a round's servers run minutes apart at most, on this shared machine
whose speed varies over minutes); CPU per request is the server's own, all its processes, from /proc.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from pathlib import Path
from typing import Any

from bench.servers import (
    REPO,
    SECOND,
    SERVERS,
    idle_cpu_share,
    measured_wrk,
    settle,
    start_server,
    worker_rss_mb,
    wrk,
)
from pipeline.environments import processes
from pipeline.records import ImageRecord
from pipeline.settings import get_settings
from sentiment.artifact import architecture, read_metadata

SHORT_TEXT = "wonderful film"
# A 76-character review of the sanity set: the featurizer's share of a request grows with the text.
LONG_TEXT = json.loads((REPO / "quality_gates/sanity_set.jsonl").read_text().splitlines()[0])["text"]
TEXTS = {"short": SHORT_TEXT, "long": LONG_TEXT}

# server -> its runs, in order: (run name, path, text of the POST body or None for a GET, connections)
RUNS: dict[str, list[tuple[str, str, str | None, int]]] = {
    "default": [
        ("predict_c32", "/predict", "short", 32),
        ("predict_long_c32", "/predict", "long", 32),
        ("predict_c8", "/predict", "short", 8),
        ("health_c32", "/health", None, 32),
    ],
    "gunicorn": [("gunicorn_predict_c32", "/predict", "short", 32), ("gunicorn_health_c32", "/health", None, 32)],
    "fastapi": [("fastapi_predict_c32", "/predict", "short", 32), ("fastapi_predict_long_c32", "/predict", "long", 32)],
    "naive": [("naive_keras_c32", "/predict", "short", 32)],
    "floor": [("floor_c32", "/predict", "short", 32), ("floor_c8", "/predict", "short", 8)],
    SECOND: [("second_predict_c32", "/predict", "short", 32), ("second_predict_long_c32", "/predict", "long", 32)],
}

# (what, path to the value in bench.json, limit, at least?); the default server is the one judged.
TARGETS = [
    ("/predict CPU per request, short text, us", ("cpu_us_per_request", "predict_c32"), 130.0, False),
    ("/predict CPU per request, long text, us", ("cpu_us_per_request", "predict_long_c32"), 130.0, False),
    ("/predict req/s over the FastAPI peer, short text", ("ratios", "predict_vs_fastapi"), 3.0, True),
    ("/predict req/s over the FastAPI peer, long text", ("ratios", "predict_long_vs_fastapi"), 3.0, True),
    ("/predict p99 at c32 over the floor's p99", ("ratios", "p99_vs_floor_c32"), 1.5, False),
    ("errors and non-2xx, every run of the default server", ("failed_requests", "default"), 0.0, False),
    ("/predict req/s over the gunicorn configuration", ("ratios", "predict_vs_gunicorn"), 1.8, True),
    ("/predict req/s over the naive Keras baseline", ("ratios", "predict_vs_naive"), 100.0, True),
    ("launch to ready, s", ("launch_to_ready_s", "default"), 1.0, False),
    ("largest worker RSS, MB", ("worker_rss_max_mb", "default"), 100.0, False),
]


def model_summary(directory: Path) -> dict[str, Any]:
    """Architecture, version and held-out quality of an artifact, as training recorded them."""
    meta = read_metadata(directory)
    name, version = architecture(meta)
    return {"dir": str(directory), "architecture": f"{name} v{version}", "version": meta["version"],
            "test": meta.get("metrics", {}).get("test", {})}  # fmt: skip


def body(text: str | None) -> str | None:
    return None if text is None else json.dumps({"text": TEXTS[text]})


def measure_alone(name: str, model_dir: Path, workers: int, seconds: int, idle: bool) -> dict[str, Any]:
    """Start the server, warm it, run its runs back to back, stop it: what one round learns of it."""
    proc, url, launch = start_server(name, model_dir, workers)
    try:
        wrk(f"{url}/predict", 32, 2, body("short"))  # every thread's interpreter, the token cache
        settle(proc.pid)
        seen: dict[str, Any] = {"launch_s": launch, "runs": {}}
        if idle:
            seen["idle_cpu_share"] = idle_cpu_share(proc.pid)
        for run, path, text, connections in RUNS[name]:
            seen["runs"][run] = measured_wrk(proc.pid, url + path, connections, seconds, body(text))
        seen["rss_mb"] = [round(r, 1) for r in worker_rss_mb(proc.pid)]
    finally:
        processes.stop_group(proc.pid)
    return seen


def serve(seconds: int, workers: int, rounds: int, second_model: Path | None = None) -> dict[str, Any]:
    settings = get_settings()
    model_dir = settings.serving_model_dir.resolve()
    servers = dict(SERVERS)
    if shutil.which("haproxy") is None:
        print("bench: haproxy is not installed: no floor run, and the tail targets fail (apt-get install haproxy)")
        del servers["floor"]
    models = {"default": model_summary(model_dir)}
    if second_model is not None:
        models[SECOND] = model_summary(second_model)
        servers[SECOND] = f"python -m sentiment serve (Granian) with {models[SECOND]['architecture']}"
    names = list(servers)
    by_round: list[dict[str, dict[str, Any]]] = []
    for index in range(rounds):
        order = names[index % len(names) :] + names[: index % len(names)]
        seen = {}
        for name in order:
            print(f"bench: round {index + 1}/{rounds}: {name}", flush=True)
            directory = second_model if name == SECOND else model_dir
            seen[name] = measure_alone(name, directory, workers, seconds, idle=index == 0)
        by_round.append(seen)
    built = ImageRecord.path(settings.artifacts_dir).exists()
    size = ImageRecord.read(settings.artifacts_dir).size_bytes if built else None
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "method": "each server alone, started and stopped per round; round order rotates",
        "seconds_per_run": seconds,
        "workers": workers,
        "rounds": rounds,
        "texts": TEXTS,
        "servers": servers,
        "models": models,
        "image_size_mb": round(size / 1e6) if size else None,
        **summarise(by_round),
    }
    results["targets"] = check_targets(results)
    return results


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def summarise(by_round: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Per run, the round with the median req/s; per server, medians over the rounds; ratios as medians
    of per-round ratios."""
    rounds = [{run: r for seen in round_.values() for run, r in seen["runs"].items()} for round_ in by_round]
    names = list(rounds[0])

    def per_round(a: str, b: str, field: str = "rps") -> list[float] | None:
        if a not in names or b not in names:
            return None
        return [r[a][field] / max(r[b][field], 1e-9) for r in rounds]

    ratios = {
        "predict_vs_fastapi": per_round("predict_c32", "fastapi_predict_c32"),
        "predict_long_vs_fastapi": per_round("predict_long_c32", "fastapi_predict_long_c32"),
        "predict_vs_gunicorn": per_round("predict_c32", "gunicorn_predict_c32"),
        "predict_vs_naive": per_round("predict_c32", "naive_keras_c32"),
        "predict_vs_health": per_round("predict_c32", "health_c32"),
        # /health's CPU per request over /predict's: the framework's share of a prediction's cost
        "predict_vs_health_cpu": per_round("health_c32", "predict_c32", "cpu_us_per_request"),
        "p99_vs_floor_c32": per_round("predict_c32", "floor_c32", "p99_ms"),
        "p99_long_vs_floor_c32": per_round("predict_long_c32", "floor_c32", "p99_ms"),
        "p99_vs_floor_c8": per_round("predict_c8", "floor_c8", "p99_ms"),
        "second_vs_predict": per_round("second_predict_c32", "predict_c32"),
    }
    servers = list(by_round[0])
    rss = {name: [mb for round_ in by_round for mb in round_[name]["rss_mb"]] for name in servers}
    return {
        "runs": {
            name: sorted((r[name] for r in rounds), key=lambda run: run["rps"])[len(rounds) // 2] for name in names
        },
        "all_rps": {name: [r[name]["rps"] for r in rounds] for name in names},
        "cpu_us_per_request": {name: _median([r[name]["cpu_us_per_request"] for r in rounds]) for name in names},
        "failed_requests": {
            server: sum(r[run[0]]["failed"] for r in rounds for run in RUNS[server]) for server in servers
        },
        "ratios": {name: round(_median(values), 3) for name, values in ratios.items() if values is not None},
        "launch_to_ready_s": {name: round(_median([r[name]["launch_s"] for r in by_round]), 3) for name in servers},
        "idle_cpu_share": {name: by_round[0][name]["idle_cpu_share"] for name in servers},
        "worker_rss_mb": rss,
        "worker_rss_max_mb": {name: max(values) for name, values in rss.items()},
    }


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with this run's value and whether it is met; a value the run could not measure is not met."""
    checked = []
    for what, path, limit, at_least in TARGETS:
        value: Any = results
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        met = value is not None and (value >= limit if at_least else value <= limit)
        checked.append({"target": what, "value": value, "limit": limit, "at_least": at_least, "met": met})
    return checked


def format_serve(results: dict[str, Any]) -> str:
    lines = [
        f"machine: {results['machine']}; {results['workers']} workers each; {results['seconds_per_run']} s per run; "
        f"{results['method']}; the round with the median req/s of {results['rounds']}, CPU the median of the rounds",
        f"texts: short {results['texts']['short']!r}, long {len(results['texts']['long'])} characters",
        f"{'run':<26}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'non-2xx':>9}{'errors':>8}{'cpu us/req':>12}",
    ]
    for name, r in results["runs"].items():
        lines.append(
            f"{name:<26}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['max_ms']:>9.1f}"
            f"{r['non_2xx']:>9.0f}{r['errors']:>8.0f}{results['cpu_us_per_request'][name]:>12.0f}"
        )
    for name, how in results["servers"].items():
        lines.append(
            f"{name:<9} launch->ready {results['launch_to_ready_s'][name]:.2f} s, idle CPU "
            f"{100 * results['idle_cpu_share'][name]:.1f}% of a core, worker RSS MB "
            f"{max(results['worker_rss_mb'][name])}: {how}"
        )
    for name, model in results["models"].items():
        test = model["test"]
        quality = f"test accuracy {test['accuracy']:.4f}, ROC AUC {test['roc_auc']:.4f}" if test else "no metrics"
        lines.append(f"model of {name}: {model['architecture']} {model['version']}, {quality}")
    size = results["image_size_mb"]
    lines.append(f"service image {size} MB" if size else "service image not built (python -m pipeline.build)")
    lines.append("ratios (medians of per-round ratios): " + ", ".join(f"{k} {v}" for k, v in results["ratios"].items()))
    for target in results["targets"]:
        sign = ">=" if target["at_least"] else "<="
        verdict = "met" if target["met"] else "NOT MET"
        value = "not measured" if target["value"] is None else f"{target['value']:g}"
        lines.append(f"target {target['target']}: {value} {sign} {target['limit']:g}: {verdict}")
    return "\n".join(lines)
