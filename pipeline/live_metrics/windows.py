"""A release's live metrics as one window of samples, read from its /metrics or from Prometheus.

Counters and histograms at /metrics are cumulative since the release started. A window is the
difference between two snapshots: `snapshot` reads the page now, `since` subtracts a snapshot
taken at the window start (kept by `python -m pipeline.monitor --mark`). When a counter went
down, or the model version changed, the release restarted after the window start and the whole
current page is the window (said in a note). Gauges (model version, age) are taken as they are now.

From Prometheus the window is `increase(...[DURATION])` per series, summed over instances.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from prometheus_client.parser import text_string_to_metric_families
from requests.adapters import HTTPAdapter

from pipeline.live_metrics.samples import Key

GAUGE_PREFIXES = ("sentiment_model_", "sentiment_worker_")
DEADLINE_S = 10.0  # for a whole answer: connect, headers and body
CONNECT_TIMEOUT_S = 3.0
PROMQL_DURATION = re.compile(r"([0-9]+(ms|s|m|h|d|w|y))+")


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


class _Sockets(list[socket.socket]):
    """The sockets one request opened, so that a timer can end the request at its total deadline:
    requests' timeouts are per read, and an answer trickling a byte at a time never trips them."""

    def connection_class(self, base: type[urllib3.connection.HTTPConnection]) -> type:
        sockets = self

        class Recorded(base):  # type: ignore[valid-type,misc]
            def _new_conn(self) -> socket.socket:
                sock = super()._new_conn()
                sockets.append(sock)
                return sock

        return Recorded

    def shut(self) -> None:
        for sock in self:
            with contextlib.suppress(OSError):  # wakes the read blocked in the requesting thread
                sock.shutdown(socket.SHUT_RDWR)


def _session(sockets: _Sockets) -> requests.Session:
    adapter = HTTPAdapter(max_retries=0)  # one attempt: a judge reads again at its next interval
    pools = {
        "http": type("Pool", (urllib3.HTTPConnectionPool,),
                     {"ConnectionCls": sockets.connection_class(urllib3.connection.HTTPConnection)}),
        "https": type("Pool", (urllib3.HTTPSConnectionPool,),
                      {"ConnectionCls": sockets.connection_class(urllib3.connection.HTTPSConnection)}),
    }  # fmt: skip
    adapter.poolmanager.pool_classes_by_scheme = pools
    session = requests.Session()
    session.trust_env = False  # loopback and the user's own Prometheus: no proxy from the environment
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _get(url: str, deadline_s: float | None = None) -> tuple[int, bytes]:
    """GET url: (status, body) of an answer complete within deadline_s (default DEADLINE_S), else OSError."""
    deadline_s = DEADLINE_S if deadline_s is None else deadline_s
    if not url.startswith(("http://", "https://")):
        raise OSError(f"{url} is not an http(s) URL")
    sockets = _Sockets()
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        sockets.shut()

    timer = threading.Timer(deadline_s, expire)
    timer.daemon = True
    with _session(sockets) as session:
        timer.start()
        try:
            resp = session.get(url, timeout=(CONNECT_TIMEOUT_S, deadline_s), allow_redirects=False)
            body = resp.content
        except requests.RequestException as exc:
            if expired.is_set():
                raise OSError(f"{url} gave no complete answer within {deadline_s:g} s") from None
            raise OSError(f"{url}: {exc}") from None
        finally:
            timer.cancel()
    if expired.is_set():  # an answer without a length ends at the shutdown: it is cut, not complete
        raise OSError(f"{url} gave no complete answer within {deadline_s:g} s")
    return resp.status_code, body


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


def promql_duration(value: str) -> str:
    """A PromQL duration (1h, 30m, 1h30m); anything else is a ValueError, never spliced into a query."""
    if not PROMQL_DURATION.fullmatch(value):
        raise ValueError(f"{value[:40]!r} is not a PromQL duration (e.g. 30m, 1h, 1d)")
    return value


def label_matcher(name: str, value: str) -> str:
    """name="value" with the value quoted as a PromQL string (JSON's escapes are PromQL's)."""
    return f"{name}={json.dumps(value)}"


def from_prometheus(prometheus: str, duration: str, job: str | None = None) -> Window:
    """The last `duration` (a PromQL duration, e.g. 1h) of the release's series in Prometheus."""
    duration = promql_duration(duration)
    selector = f"{{{label_matcher('job', job)}}}" if job else ""
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
