"""Prometheus metrics at /metrics: requests and latency by route and status, prediction scores, model version,
and the live counterparts of the model's reference profile (text length, out-of-vocabulary share) at the
bucket edges of `sentiment.buckets`, rejected inputs by reason, non-finite scores and the model's age.

Every label has a fixed, small set of values (routes, methods, status codes, reasons, labels, the model
version); no request text is stored, only bucket counts.

Under Granian and gunicorn every worker is a process, so the metrics use prometheus_client's
multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by sentiment.serve or sentiment.gunicorn_conf
before any worker starts) and /metrics adds up all workers. Without that variable (tests, the CLI)
the process's own registry is served.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any

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

from sentiment import buckets

REQUESTS = Counter("sentiment_requests_total", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram(
    "sentiment_request_seconds",
    "Time to answer an HTTP request once its body has been read, in the application",
    ["route", "status"],
    buckets=buckets.LATENCY_EDGES,
)
SCORES = Histogram("sentiment_prediction_score", "P(positive) of each scored text", buckets=buckets.SCORE_EDGES)
LABELS = Counter("sentiment_predictions_total", "Scored texts by the label given", ["label"])
NON_FINITE = Counter("sentiment_nonfinite_scores_total", "Scores that were NaN or infinite (a broken model)")
TEXT_CHARS = Histogram("sentiment_text_chars", "Characters of each scored text", buckets=buckets.TEXT_CHARS_EDGES)
TEXT_TOKENS = Histogram("sentiment_text_tokens", "Tokens of each scored text", buckets=buckets.TEXT_TOKENS_EDGES)
OOV_SHARE = Histogram(
    "sentiment_text_oov_share",
    "Share of each scored text's tokens outside the model's vocabulary (1 for a text without tokens)",
    buckets=buckets.OOV_SHARE_EDGES,
)
REJECTED = Counter("sentiment_rejected_inputs_total", "Prediction requests refused as bad input", ["reason"])
MODEL_CREATED = Gauge("sentiment_model_created_timestamp_seconds", "When the served model was trained (Unix time)",
                      multiprocess_mode="max")  # fmt: skip
# Set when /metrics is read, by the process answering; the newest reading is the largest (max).
MODEL_AGE = Gauge("sentiment_model_age_seconds", "Seconds since the served model was trained",
                  multiprocess_mode="max")  # fmt: skip
MODEL = Gauge("sentiment_model_info", "The model version this process serves (value 1)", ["version"],
              multiprocess_mode="max")  # fmt: skip
# Each worker reports 1 while it lives: the sum is the number of live workers, and stays right after a
# worker dies only because the server marks it dead (mark_process_dead removes its live gauges).
WORKERS = Gauge("sentiment_worker_processes", "Worker processes serving", multiprocess_mode="livesum")

# Paths no route matches share one label, so random URLs cannot blow up the series count;
# likewise methods HTTP does not define (a client may send any token as a method).
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"})
OTHER_METHOD = "other"


# (status, words in the error description) -> reason, first match wins; the description's variable parts
# (which text, how many) never reach a label. tests/monitoring check that every refusal maps to a reason.
REJECTION_REASONS: tuple[tuple[int, str, str], ...] = (
    (415, "", "content_type"),
    (413, "characters in all", "batch_characters"),
    (413, "", "body_too_large"),
    (400, "body is empty", "empty_body"),
    (400, "UTF-8", "invalid_utf8"),
    (400, "not valid JSON", "invalid_json"),
    (400, "NFKD", "normalization_growth"),
    (400, "longer than", "text_too_long"),
    (400, "must not be empty", "empty_text"),
    (400, "must be a string", "not_a_string"),
    (400, "items; at most", "batch_too_long"),
    (400, "", "invalid_shape"),  # not an object, both or neither of text/texts, texts not a list
)


def rejection_reason(status: int, description: str) -> str:
    for code, words, reason in REJECTION_REASONS:
        if status == code and words in description:
            return reason
    return "other"


def observe_rejection(status: int, description: str | None) -> None:
    REJECTED.labels(rejection_reason(status, description or "")).inc()


def observe_predictions(results: Iterable[dict[str, Any]]) -> None:
    """Score histogram and label counts of the service's answers; a NaN or infinite score is only counted."""
    for result in results:
        score = float(result["score"])
        if not math.isfinite(score):
            NON_FINITE.inc()
            continue
        SCORES.observe(score)
        LABELS.labels(result["label"]).inc()


def observe_texts(texts: Sequence[str], stats: buckets.TokenStats) -> list[buckets.TextFeatures]:
    """Observes each text's features, and returns them (for sentiment.emf, which must not compute them again)."""
    observed = [buckets.text_features(text, stats) for text in texts]
    for features in observed:
        TEXT_CHARS.observe(features.chars)
        TEXT_TOKENS.observe(features.tokens)
        OOV_SHARE.observe(features.oov_share)
    return observed


def set_model(version: str, created: float | None) -> None:
    MODEL.labels(version).set(1)
    if created is not None:
        MODEL_CREATED.set(created)


def body_read(req: falcon.Request) -> None:
    """Restart the request's clock: it has its whole body now.

    The latency that releases are judged on and alerts fire on is the service's own: a client
    that uploads slowly (e.g. the last bytes of its body seconds late) must not move it.
    """
    req.context.started = time.perf_counter()


class RequestMetrics:
    """Falcon middleware: count and time every request by its route template and status.

    The clock starts when the application is called (the server has read the head) and restarts
    when a resource has read the body (`body_read`): upload time is never counted.
    """

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        route = req.uri_template or UNMATCHED
        status = str(resp.status_code)
        method = req.method if req.method in METHODS else OTHER_METHOD
        REQUESTS.labels(route, method, status).inc()
        started = getattr(req.context, "started", None)
        if started is not None:
            LATENCY.labels(route, status).observe(time.perf_counter() - started)


class Metrics:
    def __init__(self, model_created: float | None = None) -> None:
        self.model_created = model_created

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self.model_created is not None:
            MODEL_AGE.set(max(0.0, time.time() - self.model_created))
        registry = REGISTRY
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = generate_latest(registry)
