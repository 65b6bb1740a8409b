"""EMF lines of sentiment.emf: valid Embedded Metric Format, exactly the metrics of sentiment.cloudwatch_metrics,
the interval's totals (no request text), and the service writes them only when asked (AWS by default)."""

from __future__ import annotations

import json

import jsonschema
import pytest
from emf_spec import EMF_SCHEMA, references, valid_lines

from sentiment import cloudwatch_metrics as cw
from sentiment import emf
from sentiment.buckets import TextFeatures
from sentiment.settings import Settings


def named(docs: list[dict]) -> set[str]:
    return {m["Name"] for d in docs for directive in d["_aws"]["CloudWatchMetrics"] for m in directive["Metrics"]}


def busy_recorder(written: list[str] | None = None) -> emf.Recorder:
    recorder = emf.Recorder("sentiment-api-dev", "0123456789ab", model_created=1_000.0,
                            write=[].append if written is None else written.append, clock=lambda: 87_400.0)  # fmt: skip
    features = [TextFeatures(chars=40, tokens=8, oov_share=0.05), TextFeatures(chars=5000, tokens=0, oov_share=1.0)]
    recorder.scored(features, [{"score": 0.9, "label": "positive"}, {"score": 0.45, "label": "negative"}])
    recorder.scored([TextFeatures(12, 2, 0.5)], [{"score": float("nan"), "label": "positive"}])
    recorder.request("/predict", 200, 0.003)
    recorder.request("/predict", 500, 2.0)
    recorder.request("/health", 200, 0.0001)
    recorder.rejected()
    return recorder


def test_lines_are_valid_emf_and_name_exactly_the_defined_metrics():
    docs = valid_lines(busy_recorder().lines())
    assert named(docs) == {m.name for m in cw.METRICS}
    for doc in docs:
        (directive,) = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == cw.NAMESPACE
        for metric in directive["Metrics"]:
            defined = next(m for m in cw.METRICS if m.name == metric["Name"])
            assert metric["Unit"] == defined.unit
            assert directive["Dimensions"] == [[*cw.DIMENSIONS, *([defined.dimension] if defined.dimension else [])]]


def test_the_schema_refuses_what_the_spec_forbids():
    """The check can fail: lines that break the spec are refused."""
    good = json.loads(busy_recorder().lines()[0])
    broken = [
        {k: v for k, v in good.items() if k != "_aws"},
        {**good, "_aws": {**good["_aws"], "Timestamp": "now"}},
        {**good, "_aws": {**good["_aws"], "CloudWatchMetrics": [
            {"Namespace": "a b", "Dimensions": [], "Metrics": []}]}},
        {**good, "_aws": {**good["_aws"], "CloudWatchMetrics": [
            {"Namespace": "N", "Dimensions": [], "Metrics": [{"Name": "Requests", "Unit": "Requests"}]}]}},
    ]  # fmt: skip
    for doc in broken:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, EMF_SCHEMA)
    with pytest.raises(AssertionError):
        references({**good, cw.SERVICE: 7})
    with pytest.raises(AssertionError):
        references({**good, cw.REQUESTS.name: "3"})


def test_lines_hold_the_intervals_totals_and_start_a_new_interval():
    recorder = busy_recorder()
    docs = valid_lines(recorder.lines())
    summary = docs[0]
    assert summary[cw.SERVICE] == "sentiment-api-dev" and summary[cw.MODEL_VERSION] == "0123456789ab"
    assert summary["_aws"]["Timestamp"] == 87_400_000
    assert summary[cw.REQUESTS.name] == 3 and summary[cw.SERVER_ERRORS.name] == 1
    assert summary[cw.NONFINITE_SCORES.name] == 1 and summary[cw.REJECTED_INPUTS.name] == 1
    assert summary[cw.MODEL_AGE.name] == 86_400.0
    assert summary["ScoreSum"] == pytest.approx(1.35) and summary["TextCharsSum"] == 5052
    labels = {d[cw.LABEL]: d[cw.PREDICTIONS.name] for d in docs if cw.LABEL in d}
    assert labels == {"positive": 1, "negative": 1}  # the NaN score is counted as non-finite only
    buckets = {(name, d[cw.UPPER_BOUND]): d[name] for d in docs if cw.UPPER_BOUND in d for name in named([d])}
    assert buckets[("ScoreBucket", "0.9")] == 1 and buckets[("ScoreBucket", "0.5")] == 1
    assert buckets[("TextCharsBucket", "64")] == 1 and buckets[("TextCharsBucket", "+Inf")] == 1
    assert buckets[("TextTokensBucket", "0")] == 1  # a value on an edge is in that edge's bucket
    assert buckets[("PredictSecondsBucket", "0.005")] == 1 and buckets[("PredictSecondsBucket", "+Inf")] == 1
    assert sum(n for (name, _), n in buckets.items() if name == "PredictSecondsBucket") == 2  # /predict only
    idle = valid_lines(recorder.lines())
    assert len(idle) == 1 and idle[0][cw.REQUESTS.name] == 0  # an idle interval still reports the release


def test_lines_stay_one_atomic_write_at_the_longest_service_name():
    recorder = busy_recorder()
    recorder.dimensions[cw.SERVICE] = "s" * 128  # the longest EMF_SERVICE the settings accept
    assert max(len(line.encode()) for line in recorder.lines()) < emf.PIPE_BUF


def test_no_request_text_reaches_a_line():
    written: list[str] = []
    recorder = busy_recorder(written)
    recorder.scored([TextFeatures(9, 2, 0.0)], [{"score": 0.7, "label": "positive", "text": "secret review"}])
    recorder.flush()
    assert written and all(len(line) < emf.PIPE_BUF for line in written)
    assert not any("secret" in line for line in written)


def test_settings_write_emf_in_aws_environments_only_unless_asked():
    assert Settings(project_env="local").emf_dimension is None
    assert Settings(project_env="dev").emf_dimension == "sentiment-api-dev"
    assert Settings(project_env="prod", emf_service="off").emf_dimension is None
    assert Settings(project_env="local", emf_service="sentiment-api-local").emf_dimension == "sentiment-api-local"
