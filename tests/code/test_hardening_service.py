"""Security review fixes that need no model: the model version validator, the token cache's byte bound,
gunicorn's defaults and its JSON error pages, one-line start-up messages."""

import json
import os
import random
import runpy
import sys
import tempfile
from itertools import product
from pathlib import Path

import pytest
from pydantic import ValidationError

from sentiment import text
from sentiment.service import startup_error
from sentiment.settings import Settings
from sentiment.versions import is_model_version, validate_model_version

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("value", ["0123456789ab", "ffffffffffff", "000000000000", "champion"])
def test_model_versions_that_are_accepted(value):
    assert is_model_version(value) and validate_model_version(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "./../../escape",
        "../0123456789a",
        "0123456789ab\n",
        "0123456789ab\nX-Evil: 1",
        "\n0123456789ab",
        "0123456789AB",
        "0123456789a",
        "0123456789abc",
        "0123456789ag",
        "01234 6789ab",
        "Champion",
        "champion\n",
        "",
        "0123456789ab/",
        "0123456789ab\x00",
        "０１２３４５６７８９ab",  # fullwidth digits: \d would take them, [0-9] does not
        "a" * 10_000,
    ],
)
def test_model_versions_that_are_refused_with_one_line(value):
    assert not is_model_version(value)
    with pytest.raises(ValueError, match="invalid model version") as caught:
        validate_model_version(value)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 200, message


@pytest.mark.parametrize("value", [None, 123456789012, b"0123456789ab", ["champion"]])
def test_model_versions_that_are_not_strings_are_refused(value):
    assert not is_model_version(value)
    with pytest.raises(ValueError, match="invalid model version"):
        validate_model_version(value)


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


def _gunicorn_conf(monkeypatch, tmp_path, **env):
    """The settings gunicorn would read from sentiment.gunicorn_conf under this environment."""
    for name in [n for n in os.environ if n.startswith(("GUNICORN_", "SERVE_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "restored-after-the-test")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the config makes its metrics directory
    return runpy.run_module("sentiment.gunicorn_conf")


def test_gunicorn_binds_loopback_unless_the_environment_says_otherwise(monkeypatch, tmp_path):
    assert _gunicorn_conf(monkeypatch, tmp_path)["bind"] == "127.0.0.1:8000"
    assert _gunicorn_conf(monkeypatch, tmp_path, GUNICORN_BIND="0.0.0.0:8000")["bind"] == "0.0.0.0:8000"


def test_the_image_binds_all_interfaces_itself():
    """The loopback default would make a container unreachable; the Dockerfile must say so explicitly."""
    assert "GUNICORN_BIND=0.0.0.0:8000" in (REPO / "Dockerfile").read_text()


def test_the_healthcheck_default_follows_the_loopback_bind(monkeypatch, capsys):
    from sentiment import healthcheck

    def refused(url, timeout):
        raise ConnectionRefusedError("refused")

    monkeypatch.delenv("GUNICORN_BIND", raising=False)
    monkeypatch.setattr(healthcheck.urllib.request, "urlopen", refused)
    assert healthcheck.main() == 1
    assert "http://127.0.0.1:8000/health" in capsys.readouterr().err


def test_gunicorn_limits_and_timeouts_are_set(monkeypatch, tmp_path):
    conf = _gunicorn_conf(monkeypatch, tmp_path)
    assert conf["limit_request_line"] <= 4096 and conf["limit_request_fields"] <= 50
    assert conf["limit_request_field_size"] <= 8190
    assert 0 < conf["timeout"] <= 60 and 0 < conf["graceful_timeout"] <= conf["timeout"]
    assert 0 < conf["keepalive"] <= 10  # an idle keep-alive connection is cheap, but not free
    assert conf["worker_connections"] <= 512  # gunicorn's default, 1000, is far beyond 4 threads
    assert _gunicorn_conf(monkeypatch, tmp_path, GUNICORN_KEEPALIVE="65")["keepalive"] == 65
    # The serve command's names apply under gunicorn too, and win, as they do under Granian.
    both = {"GUNICORN_GRACEFUL_TIMEOUT": "7", "SERVE_GRACEFUL_TIMEOUT": "9"}
    assert _gunicorn_conf(monkeypatch, tmp_path, **both)["graceful_timeout"] == 9


@pytest.mark.parametrize("value", ["x", "", "-1", "0", "1.5"])
def test_a_bad_gunicorn_number_is_one_line_not_a_traceback(monkeypatch, tmp_path, value):
    with pytest.raises(SystemExit) as stopped:
        _gunicorn_conf(monkeypatch, tmp_path, GUNICORN_WORKERS=value)
    assert str(stopped.value).startswith("sentiment: cannot start: GUNICORN_WORKERS=")
    assert "\n" not in str(stopped.value)
    assert not list(tmp_path.glob("sentiment-metrics-*")), "the metrics directory outlived the refused start"


def test_gunicorn_runs_the_json_error_worker(monkeypatch, tmp_path):
    assert _gunicorn_conf(monkeypatch, tmp_path)["worker_class"].__name__ == "JsonErrorWorker"


PAGE_414 = (
    b"HTTP/1.1 414 URI Too Long\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\n"
    b"<html>\n  <head>\n    <title>URI Too Long</title>\n  </head>\n  <body>\n    <h1><p>URI Too Long</p></h1>\n"
    b"    Request Line is too large (5014 &gt; 4096)\n  </body>\n</html>\n"
)
PAGE_500 = PAGE_414.replace(b"414 URI Too Long", b"500 Internal Server Error").replace(
    b"Request Line is too large (5014 &gt; 4096)", b""
)


@pytest.mark.parametrize(
    ("page", "status", "title", "description"),
    [
        (PAGE_414, 414, "URI Too Long", "Request Line is too large (5014 > 4096)"),
        (PAGE_500, 500, "Internal Server Error", "internal error; see the service log"),
        (b"", 500, "Error", "internal error; see the service log"),
    ],
)
def test_gunicorn_error_pages_become_the_api_json_error(monkeypatch, tmp_path, page, status, title, description):
    rewrite = _gunicorn_conf(monkeypatch, tmp_path)["json_error_response"]
    head, _, body = rewrite(page).partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == f"HTTP/1.1 {status} {title}"
    assert "Content-Type: application/json" in lines and f"Content-Length: {len(body)}" in lines
    assert json.loads(body) == {"error": {"status": status, "title": title, "description": description}}


def test_invalid_settings_are_one_line_naming_each_variable():
    with pytest.raises(ValidationError) as caught:
        Settings(project_env="nonsense", project_name="Bad Name\nX", _env_file=None)
    line = startup_error(caught.value)
    assert "\n" not in line
    assert line.startswith("invalid settings: ")
    assert "PROJECT_ENV='nonsense'" in line and "PROJECT_NAME='Bad Name\\nX'" in line


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            FileNotFoundError(2, "No such file or directory", "/cache/x"),
            "FileNotFoundError: [Errno 2]",
        ),
        (
            ValueError("Expecting value: line 1\ncolumn 1"),
            "ValueError: Expecting value: line 1 column 1",
        ),
        (
            json.JSONDecodeError("Expecting value", "{x", 1),
            "JSONDecodeError: Expecting value",
        ),
    ],
)
def test_other_start_up_errors_are_one_line_with_their_kind(exc, expected):
    line = startup_error(exc)
    assert line.startswith(expected) and "\n" not in line


def test_the_cli_names_its_settings_error_in_one_line(monkeypatch, capsys):
    from sentiment import __main__ as cli
    from sentiment.settings import get_settings

    monkeypatch.setenv("PROJECT_ENV", "nonsense")
    get_settings.cache_clear()
    try:
        assert cli.main(["predict", "hello"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sentiment: cannot start: invalid settings: PROJECT_ENV=")
