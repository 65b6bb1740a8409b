"""The model version validator: what it accepts and how it refuses the rest."""

import pytest

from sentiment.versions import is_model_version, validate_model_version


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
