"""The champion comparison uses only examples neither model trained on, and says when it cannot."""

from types import SimpleNamespace

from pipeline.ml import data, gating
from pipeline.ml.gate_config import Threshold

SPLITS = data.Splits(train=(data.Example("a", 1),), val=(), test=(data.Example("b", 0), data.Example("c", 1)))


def model(split: str | None, fingerprint: str = "f" * 64):
    return SimpleNamespace(metadata={"data": {"fingerprint": fingerprint, **({"split": split} if split else {})}})


def test_models_split_alike_are_compared_on_the_whole_test_split():
    compared = gating.held_out_for_both(model(data.SPLIT_DEFINITION), model(data.SPLIT_DEFINITION, "e" * 64), SPLITS)
    assert compared["examples"] == 2 and compared["split"] == data.SPLIT_DEFINITION
    assert "neither model trained on them" in compared["note"]


def test_a_champion_split_otherwise_is_not_compared_on_held_out_data_and_the_gate_says_so():
    for theirs in (None, "seeded 80/10/10"):
        compared = gating.held_out_for_both(model(data.SPLIT_DEFINITION), model(theirs), SPLITS)
        assert compared["examples"] == 0 and "cannot be established" in compared["note"]


def test_only_the_compared_metrics_are_judged():
    thresholds = {
        name: Threshold(name, "max", 0.01, "why")
        for name in ("champion.test_accuracy_drop", "champion.sanity_accuracy_drop")
    }
    candidate = {"test.accuracy": 0.8, "sanity.accuracy": 0.9}
    champion = {"sanity.accuracy": 0.95}  # no held-out measurement: its training data is unknown
    drops = gating.champion_drops(candidate, champion)
    assert drops == {"champion.sanity_accuracy_drop": champion["sanity.accuracy"] - candidate["sanity.accuracy"]}
    checks = gating.judge(thresholds, drops, gating.side_by_side(candidate, champion, thresholds))
    assert [(c.name, c.passed) for c in checks] == [("champion.sanity_accuracy_drop", False)]
