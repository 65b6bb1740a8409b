"""A release's live metrics as one window of samples, read from its /metrics or from Prometheus.

Counters and histograms at /metrics are cumulative since the release started. A window is the
difference between two snapshots: `snapshot` reads the page now, `since` subtracts a snapshot
taken at the window start (kept by `python -m pipeline.monitor --mark`). When a counter went
down, or the model version changed, the release restarted after the window start and the whole
current page is the window (said in a note). Gauges (model version, age) are taken as they are now.

From Prometheus the window is `increase(...[DURATION])` per series, summed over instances.
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from pipeline.ml.drift import Key

GAUGE_PREFIXES = ("sentiment_model_", "sentiment_worker_")
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Snapshot:
    source: str
    taken: float  # Unix time
    samples: dict[Key, float]

    def to_dict(self) -> dict[str, Any]:
        rows = [[name, dict(labels), value] for (name, labels), value in sorted(self.samples.items())]
        return {"schema": 1, "source": self.source, "taken": self.taken, "samples": rows}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Snapshot:
        samples = {(name, tuple(sorted(labels.items()))): float(value) for name, labels, value in doc["samples"]}
        return cls(str(doc["source"]), float(doc["taken"]), samples)


@dataclass(frozen=True)
class Window:
    samples: dict[Key, float]
    start: float | None  # Unix time; None: since the release started
    end: float
    note: str = ""


def parse(text: str) -> dict[Key, float]:
    """The service's samples (sentiment_*) of a Prometheus text page."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): float(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("sentiment_")
    }


def _get(url: str) -> tuple[int, bytes]:
    if not url.startswith(("http://", "https://")):
        raise OSError(f"{url} is not an http(s) URL")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:  # noqa: S310  # nosec B310 - scheme checked above
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def snapshot(url: str) -> Snapshot:
    """The release's /metrics now. Raises OSError when it cannot be read."""
    status, body = _get(f"{url.rstrip('/')}/metrics")
    if status != 200:
        raise OSError(f"{url}/metrics answered HTTP {status} (behind the stable endpoint /metrics is denied: "
                      "give the release's own URL or --prometheus)")  # fmt: skip
    return Snapshot(url.rstrip("/"), time.time(), parse(body.decode("utf-8")))


def ready(url: str) -> bool:
    try:
        return _get(f"{url.rstrip('/')}/ready")[0] == 200
    except OSError:
        return False


def versions(samples: dict[Key, float]) -> set[str]:
    return {dict(labels)["version"] for (name, labels), v in samples.items() if name == "sentiment_model_info" and v}


def since(current: Snapshot, start: Snapshot | None) -> Window:
    if start is None:
        return Window(current.samples, None, current.taken, "no window start: judging since the release started")
    if start.source != current.source:
        return Window(current.samples, None, current.taken,
                      f"the window start was taken at {start.source}: judging since the release started")  # fmt: skip
    delta: dict[Key, float] = {}
    for key, value in current.samples.items():
        if key[0].startswith(GAUGE_PREFIXES):
            delta[key] = value
            continue
        before = start.samples.get(key, 0.0)
        if value < before or versions(current.samples) != versions(start.samples):
            return Window(current.samples, None, current.taken,
                          "the release restarted after the window start: judging since it started")  # fmt: skip
        delta[key] = value - before
    return Window(delta, start.taken, current.taken)


# --- Prometheus -----------------------------------------------------------------------------------------

# (series, labels kept) read from Prometheus; the rest of a series' labels (instance, job) are summed away.
WINDOWED = (
    *((f"{m}_{part}", ("le",) if part == "bucket" else ()) for m in (
        "sentiment_text_chars", "sentiment_text_tokens", "sentiment_text_oov_share", "sentiment_prediction_score",
    ) for part in ("bucket", "sum", "count")),
    ("sentiment_predictions_total", ("label",)),
    ("sentiment_nonfinite_scores_total", ()),
    ("sentiment_rejected_inputs_total", ("reason",)),
    ("sentiment_requests_total", ("route", "method", "status")),
    ("sentiment_request_seconds_bucket", ("route", "le")),
)  # fmt: skip
CURRENT = (("sentiment_model_info", ("version",)), ("sentiment_model_age_seconds", ()))


def _query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    url = f"{prometheus.rstrip('/')}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    status, body = _get(url)
    doc = json.loads(body.decode("utf-8")) if body else {}
    if status != 200 or doc.get("status") != "success":
        raise OSError(f"Prometheus at {prometheus} refused {promql!r}: HTTP {status} {doc.get('error', '')}".strip())
    return doc["data"]["result"]


def from_prometheus(prometheus: str, duration: str, job: str | None = None) -> Window:
    """The last `duration` (a PromQL duration, e.g. 1h) of the release's series in Prometheus."""
    selector = f'{{job="{job}"}}' if job else ""
    samples: dict[Key, float] = {}
    for name, labels in WINDOWED:
        by = f" by ({', '.join(labels)})" if labels else ""
        for row in _query(prometheus, f"sum{by} (increase({name}{selector}[{duration}]))"):
            value = float(row["value"][1])
            if math.isfinite(value):
                samples[(name, tuple(sorted(row["metric"].items())))] = value
    for name, labels in CURRENT:
        by = f" by ({', '.join(labels)})" if labels else ""
        for row in _query(prometheus, f"max{by} ({name}{selector})"):
            samples[(name, tuple(sorted(row["metric"].items())))] = float(row["value"][1])
    end = time.time()
    return Window(samples, None, end, f"Prometheus {prometheus}, the last {duration}")
