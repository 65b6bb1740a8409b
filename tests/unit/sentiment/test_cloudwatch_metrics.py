"""The one definition of the CloudWatch metrics, and its copy for Terraform."""

from __future__ import annotations

import json
from pathlib import Path

from sentiment import buckets
from sentiment import cloudwatch_metrics as cw

TERRAFORM_COPY = Path(__file__).resolve().parents[3] / "infra" / "modules" / "server" / "emf_metrics.json"


def test_terraform_reads_the_same_definition():
    assert json.loads(TERRAFORM_COPY.read_text(encoding="utf-8")) == cw.definition(), (
        f"regenerate it: python -m sentiment.cloudwatch_metrics > {TERRAFORM_COPY.relative_to(Path.cwd())}"
    )


def test_names_are_unique_and_histograms_use_the_profiles_edges():
    names = [m.name for m in cw.METRICS]
    assert len(names) == len(set(names))
    for feature, edges in buckets.FEATURE_EDGES.items():
        assert cw.HISTOGRAM_OF[feature].buckets.edges == edges


def test_bounds_name_each_bucket_once():
    for histogram in cw.HISTOGRAMS:
        bounds = cw.definition()["metrics"][histogram.buckets.name]["upper_bounds"]
        assert len(set(bounds)) == len(histogram.buckets.edges) + 1 and bounds[-1] == cw.OPEN_BOUND
