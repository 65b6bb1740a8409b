"""What a model version may look like: 12 lowercase hex characters, or the word `champion`.

A version becomes part of S3 keys, cache directory names and image tags, so anything else
(path separators, `..`, whitespace, newlines, upper case) is refused before it gets there.
"""

from __future__ import annotations

import re

CHAMPION = "champion"
_VERSION = re.compile(r"[0-9a-f]{12}")
_SHOWN_CHARS = 40  # a refused value is quoted in the message; a huge one is cut, not echoed whole


def is_model_version(value: object) -> bool:
    """True if value is 12 lowercase hex characters or `champion`."""
    # fullmatch, not match + `$`: `$` also matches before a trailing newline.
    return isinstance(value, str) and (value == CHAMPION or _VERSION.fullmatch(value) is not None)


def validate_model_version(value: str) -> str:
    """Return value unchanged if it is a model version, else raise ValueError with a one-line message."""
    if is_model_version(value):
        return value
    if isinstance(value, str):
        # repr() escapes newlines and control characters, so the message stays on one line.
        shown = repr(value[:_SHOWN_CHARS]) + ("..." if len(value) > _SHOWN_CHARS else "")
    else:
        shown = f"a {type(value).__name__}"
    raise ValueError(f"invalid model version {shown}: expected 12 lowercase hex characters or {CHAMPION!r}")
