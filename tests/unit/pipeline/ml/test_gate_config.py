"""The fixed sanity set and suites: valid, big enough, and never taken from the corpus."""

from collections import Counter
from pathlib import Path

import pytest

from pipeline.ml import data, gate_config

QUALITY_GATES = Path(__file__).resolve().parents[4] / "quality_gates"


@pytest.fixture(scope="module")
def config():
    return gate_config.load(QUALITY_GATES, QUALITY_GATES / "thresholds.toml")


def test_sanity_set_is_large_balanced_and_covers_every_slice(config):
    assert len(config.sanity) >= 150
    labels = Counter(row["label"] for row in config.sanity)
    assert min(labels.values()) / len(config.sanity) > 0.4
    tags = Counter(t for row in config.sanity for t in row["tags"])
    assert set(tags) >= {"plain", "negation", "intensifier", "short", "mixed", "typo", "neutral"}
    assert min(tags.values()) >= 15


def test_no_sanity_or_suite_text_comes_from_the_corpus(config):
    corpus = {data.normalise(ex.text) for ex in data.parse_corpus(data.read_corpus_bytes())}
    texts = [row["text"] for row in config.sanity]
    for rows in config.suites.values():
        texts += [row.get("text") or row["original"] for row in rows] + [
            row["variant"] for row in rows if "variant" in row
        ]
    leaked = [t for t in texts if data.normalise(t) in corpus]
    assert not leaked


def test_sanity_texts_are_unique(config):
    texts = [row["text"] for row in config.sanity]
    assert len(texts) == len(set(texts))


def test_every_threshold_has_a_reason(config):
    assert all(t.reason for t in config.thresholds.values())
    assert {"test.accuracy", "latency.p99_ms", "parity.max_abs_diff", "champion.test_accuracy_drop"} <= set(
        config.thresholds
    )
