import itertools

import numpy as np
import pytest

from pipeline.ml.classification import accuracy, roc_auc


def _brute_auc(labels, scores):
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


@pytest.mark.parametrize("seed", range(5))
def test_auc_matches_pairwise_definition_with_ties(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 60)
    scores = rng.integers(0, 8, 60) / 8  # many ties
    assert roc_auc(labels, scores) == pytest.approx(_brute_auc(labels, scores))


def test_auc_extremes_and_degenerate():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert np.isnan(roc_auc([1, 1], [0.2, 0.3]))


def test_accuracy_uses_threshold():
    assert accuracy([1, 0, 1], [0.5, 0.49, 0.2], 0.5) == pytest.approx(2 / 3)
