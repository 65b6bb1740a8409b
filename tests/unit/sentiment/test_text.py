import random
import sys
from itertools import product

import numpy as np
import pytest

from sentiment import text
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


# The promise of the review fix: one worker's token cache stays under this, whatever it is sent,
# and holds only tokens up to this length (real words are shorter).
TOKEN_CACHE_BUDGET = 8 * 2**20
CACHED_TOKEN_CHARS = 40


def _all_ab_ngrams_vocabulary() -> text.Vocabulary:
    """Every character n-gram over "a", "b" and the padding is a term: each token of a and b
    then maps to the most columns a token of its length can have, the costliest cache entry."""
    config = text.FeatureConfig()
    grams = [
        text.CHAR_MARK + "".join(chars)
        for n in range(config.char_min_n, config.char_max_n + 1)
        for chars in product("ab ", repeat=n)
    ]
    return text.Vocabulary(
        config=config,
        terms=tuple(grams),
        idf=(1.0,) * len(grams),
        ratio=(0.0,) * len(grams),
    )


def _cache_bytes(vocab: text.Vocabulary) -> int:
    cache = vocab._token_cache
    return sys.getsizeof(cache) + sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in cache.items())


def test_the_token_cache_is_bounded_in_bytes_whatever_tokens_arrive():
    vocab = _all_ab_ngrams_vocabulary()
    rng = random.Random(7)
    peak = 0
    for _ in range(30):  # 15,000 distinct tokens of the longest cached length: more than the budget holds
        vocab.term_counts(" ".join("".join(rng.choices("ab", k=CACHED_TOKEN_CHARS)) for _ in range(500)))
        peak = max(peak, _cache_bytes(vocab))
    assert peak <= TOKEN_CACHE_BUDGET, f"the cache held {peak / 2**20:.1f} MiB"
    assert peak > TOKEN_CACHE_BUDGET / 2, "the bound is used, not avoided by caching nothing"

    long_token = "".join(rng.choices("ab", k=CACHED_TOKEN_CHARS + 1))
    huge_token = "".join(rng.choices("ab", k=10_000))
    vocab.term_counts(f"{long_token} {huge_token} good")
    assert "good" in vocab._token_cache, "short tokens, the real words, are cached"
    assert long_token not in vocab._token_cache and huge_token not in vocab._token_cache


def test_the_token_cache_counts_what_it_holds():
    vocab = _all_ab_ngrams_vocabulary()
    vocab.term_counts("ab ba abba")
    assert text.MAX_CACHED_TOKEN_CHARS == CACHED_TOKEN_CHARS and text.TOKEN_CACHE_BYTES <= TOKEN_CACHE_BUDGET
    entries = sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in vocab._token_cache.items())
    assert len(vocab._token_cache) == 3 and entries < vocab.token_cache_bytes(), "the count errs on the large side"


def test_a_full_token_cache_starts_afresh_so_real_words_are_cached_again():
    vocab = _all_ab_ngrams_vocabulary()
    rng = random.Random(8)
    for _ in range(25):
        vocab.term_counts(" ".join("".join(rng.choices("ab", k=CACHED_TOKEN_CHARS)) for _ in range(500)))
    vocab.term_counts("a good film")
    assert {"good", "film"} <= set(vocab._token_cache)


def test_uncached_long_tokens_are_counted_in_full_every_time():
    vocab = _all_ab_ngrams_vocabulary()
    sentence = "ab " + "ab" * 30 + " ab " + "ab" * 30
    first, again = vocab.term_counts(sentence), vocab.term_counts(sentence)
    assert all((x == y).all() for x, y in zip(first, again, strict=True))
    assert first[1].sum() == 2 * (4 * 2 - 2) + 2 * (4 * 60 - 2)  # a token of length L has 4L - 2 n-grams, n = 2..5
