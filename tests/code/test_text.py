import numpy as np
import pytest

from sentiment.text import FeatureConfig, Vocabulary, char_ngrams, standardize, tokenize, word_ngrams

SMALL = FeatureConfig(max_word_terms=50, max_char_terms=50, min_df=1)


def test_standardize_folds_case_accents_and_apostrophes():
    assert standardize("Café ISN’T Bad") == "cafe isn't bad"


def test_tokenize_keeps_negation_and_drops_punctuation():
    assert tokenize("It isn't bad -- not at ALL!") == ["it", "isn't", "bad", "not", "at", "all"]


def test_word_ngrams_include_bigrams():
    assert word_ngrams(["not", "bad", "film"], 2) == ["not", "bad", "film", "not bad", "bad film"]


def test_char_ngrams_are_marked_and_padded():
    grams = char_ngrams(["ok"], 2, 3)
    assert grams == ["# o", "#ok", "#k ", "# ok", "#ok "]
    assert not set(grams) & set(word_ngrams(["ok"], 2))


def _fit():
    texts = ["a great film", "a great cast", "an awful film", "awful and dull"]
    return Vocabulary.fit(texts, [1, 1, 0, 0], SMALL)


def test_fit_is_deterministic_and_ratio_signs_follow_labels():
    vocab = _fit()
    assert vocab == _fit()
    ratio = dict(zip(vocab.terms, vocab.ratio, strict=True))
    assert ratio["great"] > 0 > ratio["awful"]


def test_json_round_trip_is_exact():
    vocab = _fit()
    assert Vocabulary.from_json(vocab.to_json()) == vocab


def test_unknown_schema_is_refused():
    with pytest.raises(ValueError, match="schema"):
        Vocabulary.from_json('{"schema": 99}')


def test_features_and_vectorize_agree():
    vocab = _fit()
    cols, values = vocab.features("a great, great film!")
    dense = vocab.vectorize(["a great, great film!", "zzz unknown"])
    assert dense.shape == (2, vocab.size) and dense.dtype == np.float32
    np.testing.assert_allclose(dense[0, cols], values)
    assert not dense[1].any(), "a text of unknown words maps to the zero vector"


def test_term_counts_count_repeats_within_and_across_tokens():
    vocab = _fit()
    cols, counts = vocab.term_counts("great film, great great")
    by_term = {vocab.terms[c]: int(n) for c, n in zip(cols, counts, strict=True)}
    assert by_term["great"] == 3 and by_term["film"] == 1
    assert by_term["#gr"] == 3  # a character n-gram of each "great"
    assert list(cols) == sorted(set(cols)), "columns are distinct and ascending"


def test_count_rows_pad_to_a_shared_power_of_two_width():
    vocab = _fit()
    ids, counts = vocab.count_rows(["a great film", "zzz"])
    assert ids.shape == counts.shape == (2, 64) and ids.dtype == np.int32 and counts.dtype == np.float32
    n = int((counts[0] > 0).sum())
    assert n == len(vocab.term_counts("a great film")[0]) and not counts[0, n:].any() and not ids[0, n:].any()
    assert not counts[1].any(), "unknown words give an all-padding row"
