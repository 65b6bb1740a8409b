"""One-line start-up messages: invalid settings and other start-up errors, from the service and its CLI."""

import json

import pytest
from pydantic import ValidationError

from sentiment.app import startup_error
from sentiment.settings import Settings


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
