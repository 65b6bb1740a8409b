"""Prometheus metrics at /metrics: requests and latency by route and status, prediction scores, model version.

Under Granian and gunicorn every worker is a process, so the metrics use prometheus_client's
multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by sentiment.serve or sentiment.gunicorn_conf
before any worker starts) and /metrics adds up all workers. Without that variable (tests, the CLI)
the process's own registry is served.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

import falcon
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("sentiment_requests_total", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram(
    "sentiment_request_seconds",
    "Time to answer an HTTP request, in the application",
    ["route", "status"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
SCORES = Histogram(
    "sentiment_prediction_score", "P(positive) of each scored text", buckets=[i / 10 for i in range(1, 11)]
)
MODEL = Gauge("sentiment_model_info", "The model version this process serves (value 1)", ["version"],
              multiprocess_mode="max")  # fmt: skip
# Each worker reports 1 while it lives: the sum is the number of live workers, and stays right after a
# worker dies only because the server marks it dead (mark_process_dead removes its live gauges).
WORKERS = Gauge("sentiment_worker_processes", "Worker processes serving", multiprocess_mode="livesum")

# Paths no route matches share one label, so random URLs cannot blow up the series count.
UNMATCHED = "unmatched"


def observe_scores(scores: Iterable[float]) -> None:
    for score in scores:
        SCORES.observe(score)


class RequestMetrics:
    """Falcon middleware: count and time every request by its route template and status."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        route = req.uri_template or UNMATCHED
        status = str(resp.status_code)
        REQUESTS.labels(route, req.method, status).inc()
        started = getattr(req.context, "started", None)
        if started is not None:
            LATENCY.labels(route, status).observe(time.perf_counter() - started)


class Metrics:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        registry = REGISTRY
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = generate_latest(registry)
