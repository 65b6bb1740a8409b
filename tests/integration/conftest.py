"""The integration tier's schedule (two CPU lanes and one Terraform lane, long files first) and its shared
fixtures.

Under `-n auto --dist loadfile` each file is one unit of work (its module fixtures are made once),
handed out in the order below. The longest files that drive real Terraform against the emulator spend
most of their time in the AWS provider's pollers (10 s before it first asks whether an instance runs), so
they form one unit, the Terraform lane, and `-n auto` starts one worker more than there are cores for it: the
lane waits while the other workers use the cores. The order and the lane come from a clean-clone CI
run's JUnit times.
"""

import os
from pathlib import Path

import pytest
from browser import CHROMIUM, Browser
from xdist.scheduler import LoadFileScheduling

HERE = Path(__file__).resolve().parent
# Not all of them: with infra/test_terraform_interrupts.py too the lane outlasts the CPU workers.
TERRAFORM_LANE = [
    "infra/test_blue_green_emulator.py",
    "release/test_aws_delivery.py",
    "infra/test_scale_out.py",
]
LONGEST_FIRST = [
    *TERRAFORM_LANE,
    "release/test_release_lifecycle.py",
    "jenkins/test_run_mode.py",
    "infra/test_terraform_interrupts.py",
    "serve/test_worker_memory.py",
    "serve/test_soak.py",
    "release/test_champion_loop.py",
    "release/test_image.py",
    "gate/test_determinism.py",
    "serve/test_server_start.py",
    "serve/test_api.py",
    "serve/test_serve.py",
    "infra/test_terraform_validation.py",
]


def _path(item: pytest.Item) -> str:
    return item.path.relative_to(HERE).as_posix() if HERE in item.path.parents else item.path.as_posix()


def _rank(item: pytest.Item) -> int:
    path = _path(item)
    return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: each file keeps its own order, the other files theirs


class FilesAndTerraformLane(LoadFileScheduling):
    """loadfile, with the Terraform lane's files as one unit."""

    lane = frozenset((HERE / path).relative_to(HERE.parents[1]).as_posix() for path in TERRAFORM_LANE)

    def _split_scope(self, nodeid: str) -> str:
        path = super()._split_scope(nodeid)
        return "terraform-lane" if path in self.lane else path


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    return (os.cpu_count() or 1) + 1  # the Terraform lane's worker mostly waits


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    config.option.loadscopereorder = False  # the order is LONGEST_FIRST's, not the number of tests per file
    return FilesAndTerraformLane(config, log)


@pytest.fixture
def browser(tmp_path):
    if CHROMIUM is None:
        pytest.skip("NOT TESTED: Debian's chromium is not installed (.ci/run installs it)")
    opened = Browser(tmp_path / "profile")
    yield opened
    opened.close()
