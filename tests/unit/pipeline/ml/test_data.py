from collections import Counter

import pytest

from pipeline.ml import data


@pytest.fixture(scope="module")
def splits():
    return data.load_splits(seed=42)


def test_corpus_is_the_labelled_reviews_without_plot_rows():
    examples = data.parse_corpus(data.read_corpus_bytes())
    assert len(examples) == 12808
    assert Counter(ex.label for ex in examples) == {1: 7403, 0: 5405}


def test_split_is_80_10_10_and_stratified(splits):
    sizes = splits.sizes
    total = sum(sizes.values())
    assert total > 12500  # a few duplicate and ambiguous texts are dropped
    for name, fraction in zip(("train", "val", "test"), data.SPLIT_FRACTIONS, strict=True):
        assert abs(sizes[name] - fraction * total) <= 2
    overall = sum(ex.label for _, exs in splits.items() for ex in exs) / total
    for _, examples in splits.items():
        assert abs(sum(ex.label for ex in examples) / len(examples) - overall) < 0.005


def test_no_text_is_in_two_splits(splits):
    seen: dict[str, str] = {}
    for name, examples in splits.items():
        for ex in examples:
            key = data._dedupe_key(ex.text)
            assert seen.setdefault(key, name) == name, f"{ex.text!r} is in {seen[key]} and {name}"


def test_fingerprint_is_stable_and_seed_sensitive(splits):
    assert data.load_splits(seed=42).fingerprint == splits.fingerprint
    assert data.load_splits(seed=7).fingerprint != splits.fingerprint


def test_dedupe_drops_conflicting_labels_and_normalised_duplicates():
    exs = [
        data.Example("Great film!", 1),
        data.Example("great   FILM!", 1),
        data.Example("Meh.", 1),
        data.Example("meh.", 0),
    ]
    assert [ex.text for ex in data.dedupe(exs)] == ["Great film!"]


def test_corrupt_corpus_is_a_clear_error():
    with pytest.raises(data.DataError, match="cannot read the corpus"):
        data.parse_corpus(b"not bzip2")
