"""Prometheus metrics at /metrics: requests and latency by route and status, prediction scores, model version,
and the live counterparts of the model's reference profile (text length, out-of-vocabulary share) at the
bucket edges of `sentiment.buckets`, rejected inputs by reason, non-finite scores and the model's age.

Every label has a fixed, small set of values (routes, methods, status codes, reasons, labels, the model
version); no request text is stored, only bucket counts.

Under Granian and gunicorn every worker is a process, so the metrics use prometheus_client's
multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by sentiment.serve or sentiment.gunicorn_conf
before any worker starts) and /metrics adds up all workers. Without that variable (tests, the CLI)
the process's own registry is served.

A request's counts and observations (a dozen for a prediction) are not written to the store one by
one: each is added to this worker's `PENDING` tally in memory, and the tally is written in one go
when the worker has no request left in flight (so a worker that goes quiet has written everything,
and /metrics is exact once the requests it counts have been answered), after FLUSH_EVERY answered
requests under load (so a busy worker lags by fewer than that), and when this worker answers /metrics.
"""

from __future__ import annotations

import bisect
import math
import os
import threading
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

# Under load, a worker writes its tally after this many answered requests at most.
FLUSH_EVERY = 64
_COUNT, _SUM = -1, -2  # a tally's slot of a counter, of a histogram's sum; a histogram's buckets are 0..


class PendingWrites:
    """This worker's metric updates since they were last written to the metric store, added up in memory.

    Writing one update costs the request its share of prometheus_client's per-process lock and a write to
    the multiprocess file: a dozen a prediction were a quarter of its CPU. Here an update is a dict
    addition, and the store sees a batch's sums (one write per series touched). The batch is written
    under the tally's lock, so a /metrics answered by this worker never sees half of it.
    """

    def __init__(self, flush_every: int = FLUSH_EVERY) -> None:
        self.flush_every = flush_every
        self._lock = threading.Lock()
        self._amounts: dict[tuple[Counter | Histogram, tuple[str, ...], int], float] = {}
        self._values: dict[tuple[Counter | Histogram, tuple[str, ...], int], Any] = {}  # key -> its store value
        self._in_flight = 0
        self._answered = 0

    def count(self, counter: Counter, labels: tuple[str, ...] = (), amount: float = 1.0) -> None:
        key = (counter, labels, _COUNT)
        with self._lock:
            self._amounts[key] = self._amounts.get(key, 0.0) + amount

    def observe(self, histogram: Histogram, value: float, labels: tuple[str, ...] = ()) -> None:
        # Bucket i holds values <= its upper bound, as Histogram.observe counts them.
        bucket = bisect.bisect_left(histogram._upper_bounds, value)
        amounts = self._amounts
        with self._lock:
            amounts[histogram, labels, bucket] = amounts.get((histogram, labels, bucket), 0.0) + 1.0
            amounts[histogram, labels, _SUM] = amounts.get((histogram, labels, _SUM), 0.0) + value

    def request_started(self) -> None:
        with self._lock:
            self._in_flight += 1

    def request_answered(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._answered += 1
            if self._in_flight <= 0 or self._answered >= self.flush_every:
                self._write()

    def flush(self) -> None:
        with self._lock:
            self._write()

    def _write(self) -> None:
        for key, amount in self._amounts.items():
            value = self._values.get(key)
            if value is None:
                value = self._values[key] = _store_value(*key)
            value.inc(amount)
        self._amounts.clear()
        self._answered = 0


def _store_value(metric: Counter | Histogram, labels: tuple[str, ...], slot: int) -> Any:
    """The prometheus_client value (in multiprocess mode, a slot of this worker's file) that a tally's key adds to.

    prometheus_client has no public way to add n observations to a histogram at once, so this reaches
    for its values; tests/unit/sentiment/test_metrics.py holds the result equal to observing one by one.
    """
    child = metric.labels(*labels) if labels else metric
    if slot == _COUNT:
        return child._value
    return child._sum if slot == _SUM else child._buckets[slot]


PENDING = PendingWrites()

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
    PENDING.count(REJECTED, (rejection_reason(status, description or ""),))


def observe_predictions(results: Iterable[dict[str, Any]]) -> None:
    """Score histogram and label counts of the service's answers; a NaN or infinite score is only counted."""
    for result in results:
        score = float(result["score"])
        if not math.isfinite(score):
            PENDING.count(NON_FINITE)
            continue
        PENDING.observe(SCORES, score)
        PENDING.count(LABELS, (result["label"],))


def observe_texts(texts: Sequence[str], stats: buckets.TokenStats) -> list[buckets.TextFeatures]:
    """Observes each text's features, and returns them (for sentiment.emf, which must not compute them again)."""
    observed = [buckets.text_features(text, stats) for text in texts]
    for features in observed:
        PENDING.observe(TEXT_CHARS, features.chars)
        PENDING.observe(TEXT_TOKENS, features.tokens)
        PENDING.observe(OOV_SHARE, features.oov_share)
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
        PENDING.request_started()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        route = req.uri_template or UNMATCHED
        status = str(resp.status_code)
        method = req.method if req.method in METHODS else OTHER_METHOD
        PENDING.count(REQUESTS, (route, method, status))
        started = getattr(req.context, "started", None)
        if started is not None:
            PENDING.observe(LATENCY, time.perf_counter() - started, (route, status))
        PENDING.request_answered()


class Metrics:
    def __init__(self, model_created: float | None = None) -> None:
        self.model_created = model_created

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self.model_created is not None:
            MODEL_AGE.set(max(0.0, time.time() - self.model_created))
        PENDING.flush()
        registry = REGISTRY
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = generate_latest(registry)
