"""Fixtures of the integration tier."""

import pytest
from browser import CHROMIUM, Browser


@pytest.fixture
def browser(tmp_path):
    if CHROMIUM is None:
        pytest.skip("NOT TESTED: Debian's chromium is not installed (.ci/run installs it)")
    opened = Browser(tmp_path / "profile")
    yield opened
    opened.close()
