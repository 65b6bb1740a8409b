from collections import Counter

import pytest

from pipeline.ml import data


def test_corpus_is_the_labelled_reviews_without_plot_rows(builtin_dataset):
    assert len(builtin_dataset.examples) == 12808
    assert Counter(ex.label for ex in builtin_dataset.examples) == {1: 7403, 0: 5405}


def test_split_is_about_80_10_10_with_the_labels_balanced_alike(builtin_dataset):
    splits = builtin_dataset.splits
    total = sum(splits.sizes.values())
    assert total > 12500  # a few duplicate and ambiguous texts are dropped
    for name, fraction in zip(("train", "val", "test"), data.SPLIT_FRACTIONS, strict=True):
        assert abs(splits.sizes[name] / total - fraction) < 0.01
    shares = splits.positive_shares
    assert all(abs(share - shares["train"]) < 0.03 for share in shares.values())


def test_no_text_is_in_two_splits(builtin_dataset):
    seen: dict[str, str] = {}
    for name, examples in builtin_dataset.splits.items():
        for ex in examples:
            key = data.normalise(ex.text)
            assert seen.setdefault(key, name) == name, f"{ex.text!r} is in {seen[key]} and {name}"


def test_a_text_keeps_its_split_however_the_corpus_grows_or_is_ordered(builtin_dataset):
    examples = data.dedupe(list(builtin_dataset.examples[:3000]))
    full = data.split(examples)
    part = data.split(examples[::3])
    for name, exs in part.items():
        assert set(exs) <= set(dict(full.items())[name])
    assert data.split(data.dedupe(list(reversed(builtin_dataset.examples[:3000])))) == full
    assert data.split_of("Great  FILM!") == data.split_of("great film!")


def test_fingerprint_depends_on_the_rows_only(builtin_dataset):
    rows = list(builtin_dataset.examples[:3000])
    fingerprint = data.split(data.dedupe(rows)).fingerprint
    assert data.split(data.dedupe(rows[::-1])).fingerprint == fingerprint
    assert data.split(data.dedupe(rows[1:])).fingerprint != fingerprint


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
