"""A release's window of live metrics read from CloudWatch: the EMF metrics the service writes in AWS.

The service's EMF lines (sentiment.emf) become the CloudWatch metrics of sentiment.cloudwatch_metrics;
`read` adds up the last `duration_s` of one release's (one Service and ModelVersion) with
get_metric_data and returns them as the same samples a /metrics window holds (live_metrics), so the
monitor judges CloudWatch and Prometheus windows with the same code and the same limits:

    Requests, ServerErrors        sentiment_requests_total{status="5xx"|"other"}
    Predictions{Label}            sentiment_predictions_total{label}
    NonFiniteScores, RejectedInputs, ModelAgeSeconds (Maximum)   their sentiment_* counterparts
    <Histogram>Bucket{UpperBound}, <Histogram>Sum    sentiment_<feature>_bucket{le} (cumulative), _sum, _count

Nothing here invents data: a release without a Requests datapoint in the window is an error
(NoMetrics), and a metric without datapoints is left out of the samples (the checks then fail or
say "n/a" exactly as they do for a /metrics page without it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pipeline.ml.drift import FEATURE_METRICS, Key
from pipeline.release.live_metrics import Window
from pipeline.settings import PipelineSettings
from sentiment import cloudwatch_metrics as cw

PROMETHEUS_NAME = {**FEATURE_METRICS, "predict_seconds": "sentiment_request_seconds"}
HISTOGRAM_LABELS = {"predict_seconds": (("route", "/predict"),)}
MAX_POINTS_PER_QUERY = 1000
MAX_QUERIES_PER_CALL = 500
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class NoMetrics(LookupError):
    """CloudWatch holds nothing to judge: the window cannot be measured."""


def service_dimension(settings: PipelineSettings) -> str:
    """The Service dimension of the environment's EMF metrics: what its releases are told (EMF_SERVICE), or the
    name the Terraform server module gives them."""
    return settings.emf_dimension or f"{settings.project_name}-{settings.project_env}"


def duration_seconds(duration: str) -> int:
    """Seconds of a duration such as 90s, 15m, 1h, 2d (at least a minute: EMF lines come every 60 s)."""
    number, unit = duration[:-1], duration[-1:]
    if unit not in UNITS or not number.isdigit() or int(number) * UNITS[unit] < 60:
        raise ValueError(f"{duration!r} is not a duration of at least a minute such as 15m, 1h or 2d")
    return int(number) * UNITS[unit]


def _dimensions(service: str, version: str | None = None, **extra: str) -> list[dict[str, str]]:
    pairs = {cw.SERVICE: service, **({cw.MODEL_VERSION: version} if version else {}), **extra}
    return [{"Name": name, "Value": value} for name, value in pairs.items()]


def _sums(
    client: Any, queries: list[tuple[str, list[dict[str, str]], str]], start: float, end: float
) -> list[float | None]:
    """Each (metric, dimensions, statistic) over [start, end]: its datapoints added up (Maximum: the largest);
    None without datapoints."""
    period = 60 * max(1, math.ceil((end - start) / 60 / MAX_POINTS_PER_QUERY))
    found: dict[str, list[float]] = {}
    for first in range(0, len(queries), MAX_QUERIES_PER_CALL):
        batch = queries[first : first + MAX_QUERIES_PER_CALL]
        request = {
            "MetricDataQueries": [
                {
                    "Id": f"q{first + i}",
                    "MetricStat": {
                        "Metric": {"Namespace": cw.NAMESPACE, "MetricName": name, "Dimensions": dimensions},
                        "Period": period,
                        "Stat": statistic,
                    },
                    "ReturnData": True,
                }
                for i, (name, dimensions, statistic) in enumerate(batch)
            ],
            "StartTime": datetime.fromtimestamp(start, UTC),
            "EndTime": datetime.fromtimestamp(end, UTC),
        }
        while True:
            answer = client.get_metric_data(**request)
            for result in answer["MetricDataResults"]:
                found.setdefault(result["Id"], []).extend(float(v) for v in result.get("Values", []))
            if not answer.get("NextToken"):
                break
            request["NextToken"] = answer["NextToken"]
    out: list[float | None] = []
    for i, (_, _, statistic) in enumerate(queries):
        values = found.get(f"q{i}", [])
        out.append(None if not values else max(values) if statistic == "Maximum" else sum(values))
    return out


def _listed(client: Any, metric: str, dimensions: list[dict[str, str]], key: str) -> set[str]:
    """Values of dimension `key` among the listed series of `metric` that have `dimensions`."""
    values: set[str] = set()
    for page in client.get_paginator("list_metrics").paginate(
        Namespace=cw.NAMESPACE, MetricName=metric, Dimensions=dimensions
    ):
        for listed in page["Metrics"]:
            values |= {d["Value"] for d in listed["Dimensions"] if d["Name"] == key}
    return values


def served_versions(client: Any, service: str, start: float, end: float) -> dict[str, float]:
    """{model version: requests} of every release of `service` with Requests datapoints in the window."""
    versions = sorted(_listed(client, cw.REQUESTS.name, _dimensions(service), cw.MODEL_VERSION))
    queries = [(cw.REQUESTS.name, _dimensions(service, v), cw.REQUESTS.statistic) for v in versions]
    return {v: n for v, n in zip(versions, _sums(client, queries, start, end), strict=True) if n is not None}


def read(client: Any, service: str, duration_s: int, version: str | None = None, now: float | None = None) -> Window:
    """The last duration_s of one release's metrics (`version`, or the only one with requests in the window)."""
    # Whole seconds: CloudWatch (and the emulator) drop the fraction of EndTime, which would leave out
    # the datapoints of the current second.
    end = math.ceil(time.time() if now is None else now)
    start = end - duration_s
    served = served_versions(client, service, start, end)
    where = f"CloudWatch {cw.NAMESPACE} {cw.SERVICE}={service}"
    if version is None:
        if len(served) != 1:
            raise NoMetrics(f"{where} has requests of {sorted(served) or 'no'} model version(s) in the last "
                            f"{duration_s} s; expected exactly one (or name it with --version)")  # fmt: skip
        version = next(iter(served))
    elif version not in served:
        raise NoMetrics(f"{where} has no requests of model version {version} in the last {duration_s} s")
    labels = sorted(_listed(client, cw.PREDICTIONS.name, _dimensions(service, version), cw.LABEL))
    queries = [(m.name, _dimensions(service, version), m.statistic) for m in cw.SCALARS]
    queries += [(cw.PREDICTIONS.name, _dimensions(service, version, Label=label), "Sum") for label in labels]
    for histogram in cw.HISTOGRAMS:
        queries += [
            (histogram.buckets.name, _dimensions(service, version, UpperBound=cw.bound(edge)), "Sum")
            for edge in (*histogram.buckets.edges, math.inf)
        ]
        queries.append((histogram.total.name, _dimensions(service, version), "Sum"))
    values = dict(zip(((name, tuple(d["Value"] for d in dims)) for name, dims, _ in queries),
                      _sums(client, queries, start, end), strict=True))  # fmt: skip
    missing = _missing(values, service, version, labels)
    if missing:
        raise NoMetrics(
            f"{where} {cw.MODEL_VERSION}={version} has no datapoints of {', '.join(missing)} in the last "
            f"{duration_s} s although it answered requests: EMF lines were lost or not extracted"
        )
    samples = _samples(values, service, version, labels)
    return Window(samples, start, end, f"{where} {cw.MODEL_VERSION}={version}, the last {duration_s} s")


def _missing(
    values: dict[tuple[str, tuple[str, ...]], float | None], service: str, version: str, labels: Iterable[str]
) -> list[str]:
    """Metrics every interval's lines hold (and, once texts were scored, their histograms) without datapoints."""
    always = (cw.REQUESTS, cw.SERVER_ERRORS, cw.NONFINITE_SCORES, cw.REJECTED_INPUTS)
    missing = [m.name for m in always if values[(m.name, (service, version))] is None]
    if any(values[(cw.PREDICTIONS.name, (service, version, label))] for label in labels):
        for histogram in cw.HISTOGRAMS:
            if histogram.feature in FEATURE_METRICS and values[(histogram.total.name, (service, version))] is None:
                missing.append(histogram.total.name)
    return missing


def _samples(
    values: dict[tuple[str, tuple[str, ...]], float | None], service: str, version: str, labels: Iterable[str]
) -> dict[Key, float]:
    def value(name: str, *extra: str) -> float | None:
        return values[(name, (service, version, *extra))]

    samples: dict[Key, float] = {("sentiment_model_info", (("version", version),)): 1.0}
    requests, errors = value(cw.REQUESTS.name) or 0.0, value(cw.SERVER_ERRORS.name) or 0.0
    samples[("sentiment_requests_total", (("status", "5xx"),))] = errors
    samples[("sentiment_requests_total", (("status", "other"),))] = requests - errors
    for label in labels:
        if (n := value(cw.PREDICTIONS.name, label)) is not None:
            samples[("sentiment_predictions_total", (("label", label),))] = n
    for metric, prometheus in (
        (cw.NONFINITE_SCORES, "sentiment_nonfinite_scores_total"),
        (cw.REJECTED_INPUTS, "sentiment_rejected_inputs_total"),
        (cw.MODEL_AGE, "sentiment_model_age_seconds"),
    ):
        if (n := value(metric.name)) is not None:
            samples[(prometheus, ())] = n
    for histogram in cw.HISTOGRAMS:
        name, fixed = PROMETHEUS_NAME[histogram.feature], HISTOGRAM_LABELS.get(histogram.feature, ())
        running = 0.0
        for edge in (*histogram.buckets.edges, math.inf):
            running += value(histogram.buckets.name, cw.bound(edge)) or 0.0
            le = "+Inf" if math.isinf(edge) else repr(float(edge))
            samples[(f"{name}_bucket", tuple(sorted((*fixed, ("le", le)))))] = running
        samples[(f"{name}_count", fixed)] = running
        samples[(f"{name}_sum", fixed)] = value(histogram.total.name) or 0.0
    return samples
