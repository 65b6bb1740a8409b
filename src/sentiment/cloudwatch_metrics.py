"""The one definition of the service's CloudWatch metrics: namespace, dimensions, names, units.

The service writes them as Embedded Metric Format lines (sentiment.emf), CloudWatch Logs
extracts them, and `python -m pipeline.monitor` reads them back with get_metric_data; the
Terraform server module reads the same definition from emf_metrics.json next to it (generated
from this module: `python -m sentiment.cloudwatch_metrics > infra/modules/server/emf_metrics.json`,
a unit test keeps the two equal).

Every metric has the dimensions Service (`<project>-<environment>`, the Terraform server
module's name) and ModelVersion (the release's model). Histograms are per-bucket counts with
one more dimension, UpperBound: bucket `e` counts the values v with previous edge < v <= e, and
"+Inf" the rest, at the edges of sentiment.buckets (the reference profile's) so the monitor
judges CloudWatch windows exactly as it judges /metrics. Counts add up over a window (Sum);
ModelAgeSeconds is a gauge (Maximum). No metric holds any request text.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from sentiment import buckets

NAMESPACE = "SentimentService"
SERVICE = "Service"
MODEL_VERSION = "ModelVersion"
UPPER_BOUND = "UpperBound"
LABEL = "Label"
DIMENSIONS: tuple[str, ...] = (SERVICE, MODEL_VERSION)
OPEN_BOUND = "+Inf"


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str  # a CloudWatch unit
    statistic: str  # how a window adds up: Sum (counts) or Maximum (gauges)
    description: str
    dimension: str | None = None  # one more dimension than DIMENSIONS, if any
    edges: tuple[float, ...] = ()  # a histogram's bucket edges (dimension UpperBound)


@dataclass(frozen=True)
class Histogram:
    """A per-text (or per-request) distribution: its buckets and the sum of its values."""

    feature: str  # the profile feature it is judged against, or "predict_seconds"
    buckets: Metric
    total: Metric


def _histogram(feature: str, stem: str, unit: str, what: str, edges: tuple[float, ...]) -> Histogram:
    return Histogram(
        feature,
        Metric(f"{stem}Bucket", "Count", "Sum", f"{what}: count per bucket", UPPER_BOUND, edges),
        Metric(f"{stem}Sum", unit, "Sum", f"{what}: sum of the values"),
    )


REQUESTS = Metric("Requests", "Count", "Sum", "HTTP requests answered, every route and status")
SERVER_ERRORS = Metric("ServerErrors", "Count", "Sum", "HTTP requests answered 5xx")
PREDICTIONS = Metric("Predictions", "Count", "Sum", "Scored texts by the label given", LABEL)
NONFINITE_SCORES = Metric("NonFiniteScores", "Count", "Sum", "Scores that were NaN or infinite (a broken model)")
REJECTED_INPUTS = Metric("RejectedInputs", "Count", "Sum", "Prediction requests refused as bad input (4xx)")
MODEL_AGE = Metric("ModelAgeSeconds", "Seconds", "Maximum", "Seconds since the served model was trained")

HISTOGRAMS: tuple[Histogram, ...] = (
    _histogram("score", "Score", "None", "P(positive) of each scored text", buckets.SCORE_EDGES),
    _histogram("text_chars", "TextChars", "Count", "Characters of each scored text", buckets.TEXT_CHARS_EDGES),
    _histogram("text_tokens", "TextTokens", "Count", "Tokens of each scored text", buckets.TEXT_TOKENS_EDGES),
    _histogram("oov_share", "OovShare", "None", "Out-of-vocabulary share of each text", buckets.OOV_SHARE_EDGES),
    _histogram("predict_seconds", "PredictSeconds", "Seconds", "In-application time to answer /predict",
               buckets.LATENCY_EDGES),
)  # fmt: skip
HISTOGRAM_OF: dict[str, Histogram] = {h.feature: h for h in HISTOGRAMS}

SCALARS: tuple[Metric, ...] = (REQUESTS, SERVER_ERRORS, NONFINITE_SCORES, REJECTED_INPUTS, MODEL_AGE)
METRICS: tuple[Metric, ...] = (*SCALARS, PREDICTIONS, *(m for h in HISTOGRAMS for m in (h.buckets, h.total)))


def bound(edge: float) -> str:
    """The UpperBound dimension value of a bucket edge ("0.5", "16", "+Inf")."""
    return OPEN_BOUND if math.isinf(edge) else format(edge, "g")


def definition() -> dict[str, object]:
    """The definition as the Terraform server module reads it (emf_metrics.json)."""
    return {
        "namespace": NAMESPACE,
        "dimensions": list(DIMENSIONS),
        "metrics": {
            m.name: {
                "unit": m.unit,
                "statistic": m.statistic,
                "dimensions": [*DIMENSIONS, *([m.dimension] if m.dimension else [])],
                "description": m.description,
                **({"upper_bounds": [bound(e) for e in (*m.edges, math.inf)]} if m.edges else {}),
            }
            for m in METRICS
        },
    }


if __name__ == "__main__":
    print(json.dumps(definition(), indent=2))
