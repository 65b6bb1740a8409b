"""CloudWatch Embedded Metric Format lines on stdout: the model's behaviour per release, in AWS.

Each worker process adds up what it answers in memory (a lock and a few additions per request,
no I/O) and, every interval (60 s), writes the interval's totals as a handful of JSON lines on
its stdout. In AWS the container's `awslogs` log driver ships them to the environment's log
group, where CloudWatch turns them into the metrics of sentiment.cloudwatch_metrics; no request
text is ever written, only counts and sums. A line is written with one write() call below
PIPE_BUF bytes, so lines of several workers sharing one stdout never interleave.

Lines of one interval: one with the scalar metrics (always, so an idle release still reports),
one per label given, and one per histogram bucket bound that received values.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import falcon

from sentiment import cloudwatch_metrics as cw
from sentiment.buckets import TextFeatures

INTERVAL_S = 60.0
PIPE_BUF = 4096
UNITS: dict[str, str] = {m.name: m.unit for m in cw.METRICS}


def write_stdout(line: str) -> None:
    os.write(1, (line + "\n").encode("utf-8"))


class Recorder:
    """One worker's totals since its last flush, written as EMF lines by `flush`."""

    def __init__(
        self,
        service: str,
        model_version: str,
        model_created: float | None = None,
        write: Callable[[str], None] = write_stdout,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.dimensions = {cw.SERVICE: service, cw.MODEL_VERSION: model_version}
        self.model_created = model_created
        self._write = write
        self._clock = clock
        self._lock = threading.Lock()
        self._counts, self._labels, self._buckets, self._sums = self._empty()

    @staticmethod
    def _empty() -> tuple[dict[str, float], dict[str, int], dict[str, list[int]], dict[str, float]]:
        counts = {m.name: 0.0 for m in cw.SCALARS if m.statistic == "Sum"}
        buckets = {h.feature: [0] * (len(h.buckets.edges) + 1) for h in cw.HISTOGRAMS}
        return counts, {}, buckets, {h.feature: 0.0 for h in cw.HISTOGRAMS}

    def _observe(self, feature: str, value: float) -> None:  # under the lock
        edges = cw.HISTOGRAM_OF[feature].buckets.edges
        self._buckets[feature][bisect.bisect_left(edges, value)] += 1  # value == edge: that edge's bucket
        self._sums[feature] += value

    # --- the request path -------------------------------------------------------------------------------
    def request(self, route: str | None, status: int, seconds: float | None) -> None:
        with self._lock:
            self._counts[cw.REQUESTS.name] += 1
            if status >= 500:
                self._counts[cw.SERVER_ERRORS.name] += 1
            if route == "/predict" and seconds is not None:
                self._observe("predict_seconds", seconds)

    def rejected(self) -> None:
        with self._lock:
            self._counts[cw.REJECTED_INPUTS.name] += 1

    def scored(self, features: Sequence[TextFeatures], results: Iterable[dict[str, Any]]) -> None:
        with self._lock:
            for text in features:
                self._observe("text_chars", text.chars)
                self._observe("text_tokens", text.tokens)
                self._observe("oov_share", text.oov_share)
            for result in results:
                score = float(result["score"])
                if not math.isfinite(score):
                    self._counts[cw.NONFINITE_SCORES.name] += 1
                    continue
                self._observe("score", score)
                self._labels[result["label"]] = self._labels.get(result["label"], 0) + 1

    # Falcon middleware: every answered request, after sentiment.metrics.RequestMetrics timed it.
    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: object, ok: bool) -> None:
        started = getattr(req.context, "started", None)
        self.request(req.uri_template, resp.status_code, None if started is None else time.perf_counter() - started)

    # --- the interval's lines ---------------------------------------------------------------------------
    def _line(self, now: float, metrics: dict[str, float], extra: dict[str, str] | None = None) -> str:
        extra = extra or {}
        doc: dict[str, Any] = {
            "_aws": {
                "Timestamp": int(now * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": cw.NAMESPACE,
                        "Dimensions": [[*self.dimensions, *extra]],
                        "Metrics": [{"Name": name, "Unit": UNITS[name]} for name in metrics],
                    }
                ],
            },
            **self.dimensions,
            **extra,
            **metrics,
        }
        return json.dumps(doc, separators=(",", ":"))  # under PIPE_BUF even at the longest Service (tests/unit)

    def lines(self) -> list[str]:
        """The lines of everything recorded since the last call, which starts the next interval."""
        with self._lock:
            counts, labels, buckets, sums = self._counts, self._labels, self._buckets, self._sums
            self._counts, self._labels, self._buckets, self._sums = self._empty()
        now = self._clock()
        scalars = dict(counts)
        if self.model_created is not None:
            scalars[cw.MODEL_AGE.name] = round(max(0.0, now - self.model_created), 3)
        scalars.update({cw.HISTOGRAM_OF[f].total.name: round(total, 6) for f, total in sums.items()})
        out = [self._line(now, scalars)]
        out += [self._line(now, {cw.PREDICTIONS.name: n}, {cw.LABEL: label}) for label, n in sorted(labels.items())]
        by_bound: dict[str, dict[str, float]] = {}
        for feature, counts_of in buckets.items():
            histogram = cw.HISTOGRAM_OF[feature]
            for edge, n in zip((*histogram.buckets.edges, math.inf), counts_of, strict=True):
                if n:
                    by_bound.setdefault(cw.bound(edge), {})[histogram.buckets.name] = n
        out += [self._line(now, metrics, {cw.UPPER_BOUND: b}) for b, metrics in by_bound.items()]
        return out

    def flush(self) -> None:
        for line in self.lines():
            self._write(line)

    def start(self, interval_s: float = INTERVAL_S) -> None:
        """Flush every interval_s from a daemon thread (start it in the worker, after any fork)."""

        def loop() -> None:
            while True:
                time.sleep(interval_s)
                # stdout gone (the server is stopping): the metrics are lost, the service is not.
                with contextlib.suppress(OSError):
                    self.flush()

        threading.Thread(target=loop, name="emf-metrics", daemon=True).start()
