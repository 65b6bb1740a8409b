"""The drift statistics on hand-made numbers (the live tests send real traffic: test_monitor_live.py)."""

import math
import tomllib
from pathlib import Path

import pytest

from pipeline.ml import drift

REPO = Path(__file__).resolve().parents[4]
CONFIG = tomllib.loads((REPO / "quality_gates" / "monitor.toml").read_text())


def test_psi_is_zero_for_the_same_shares_and_grows_with_the_shift():
    assert drift.psi([10, 20, 70], [1, 2, 7]) == pytest.approx(0.0)
    small, large = drift.psi([10, 20, 70], [12, 22, 66]), drift.psi([10, 20, 70], [70, 20, 10])
    assert 0 < small < 0.1 < 0.25 < large
    assert math.isfinite(drift.psi([0, 0, 10], [10, 0, 0]))  # empty buckets are floored, not infinite


def test_every_drift_rule_names_a_known_statistic_and_bucket_edges(tmp_path):
    from sentiment import buckets

    for name, rule in CONFIG["drift"].items():
        assert rule["reason"] and rule["statistic"] in {"mean_increase", "share_increase", "abs_difference"}, name
        if rule["statistic"] == "share_increase":
            edges = [float(e) for e in buckets.FEATURE_EDGES[name]]
            assert all(float(rule[b]) in edges for b in ("above", "upto") if b in rule), name
