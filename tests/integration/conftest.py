"""The integration tier's order (the files that take minutes first) and its shared fixtures.

Under `--dist loadfile` each file runs on one worker, handed out in collection order; a long file
handed out last leaves the other worker idle until it ends. These are the longest files of a
clean-clone CI run (its JUnit times), longest first.
"""

from pathlib import Path

import pytest
from browser import CHROMIUM, Browser

HERE = Path(__file__).resolve().parent
LONGEST_FIRST = [
    "release/test_aws_delivery.py",
    "release/test_release_lifecycle.py",
    "infra/test_blue_green_emulator.py",
    "infra/test_scale_out.py",
    "release/test_image.py",
    "jenkins/test_run_mode.py",
    "serve/test_api.py",
    "gate/test_gate.py",
    "infra/test_terraform_interrupts.py",
]


def _rank(item: pytest.Item) -> int:
    if HERE not in item.path.parents:
        return len(LONGEST_FIRST)
    path = item.path.relative_to(HERE).as_posix()
    return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: each file keeps its own order, the other files theirs


@pytest.fixture
def browser(tmp_path):
    if CHROMIUM is None:
        pytest.skip("NOT TESTED: Debian's chromium is not installed (.ci/run installs it)")
    opened = Browser(tmp_path / "profile")
    yield opened
    opened.close()
