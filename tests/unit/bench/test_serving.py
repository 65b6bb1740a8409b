"""`python -m bench serve`'s summary: per-round ratios, every server's runs, and targets that fail closed."""

from bench.serving import RUNS, check_targets, summarise


def run(rps, p99=10.0, cpu=100.0):
    return {"rps": rps, "p50_ms": 1.0, "p99_ms": p99, "max_ms": p99, "non_2xx": 0.0, "errors": 0.0,
            "failed": 0.0, "cpu_us_per_request": cpu}  # fmt: skip


def a_round(scale):
    """Every server's runs of one round; the machine's speed (scale) moves all of them alike."""
    rps = {"fastapi": 1000, "floor": 50000, "naive": 10, "gunicorn": 2000, "default": 3000}
    return {server: server_seen(server, scale * rps[server]) for server in rps}


def server_seen(server, rps):
    p99 = 4.0 if server == "floor" else 5.0
    runs = {name: run(rps, p99=p99, cpu=100.0) for name, *_ in RUNS[server]}
    return {"launch_s": 0.5, "idle_cpu_share": 0.0, "rss_mb": [80.0, 81.0], "runs": runs}


def test_ratios_are_medians_of_per_round_ratios_whatever_the_machine_speed():
    summary = summarise([a_round(1.0), a_round(0.4), a_round(2.5)])
    assert summary["ratios"]["predict_vs_fastapi"] == 3.0
    assert summary["ratios"]["predict_long_vs_fastapi"] == 3.0
    assert summary["ratios"]["p99_vs_floor_c32"] == 1.25
    assert summary["cpu_us_per_request"]["predict_c32"] == 100.0
    assert summary["failed_requests"]["default"] == 0.0
    assert "second_vs_predict" not in summary["ratios"]


def test_a_target_the_run_could_not_measure_is_not_met():
    rounds = [a_round(1.0)]
    for round_ in rounds:
        del round_["floor"]  # no HAProxy on this machine
    results = summarise(rounds)
    checked = {target["target"]: target for target in check_targets(results)}
    floor = checked["/predict p99 at c32 over the floor's p99"]
    assert floor["value"] is None and not floor["met"]
    assert checked["/predict req/s over the FastAPI peer, short text"]["met"]
