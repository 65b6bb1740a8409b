"""Choosing a rollback's target (no registry reached: the fake environment has none)."""

import pytest

from pipeline.errors import StageError
from pipeline.release import rollback


class NoRegistry:
    def model_registry(self):
        raise AssertionError("the registry was read before the version was checked")


@pytest.mark.parametrize("to", ["abc\nrollback: OK: fake line", "../../etc", "0123456789AB", "0123456789ab\n"])
def test_rollback_to_refuses_a_value_that_is_not_a_version_in_one_line_before_reading_the_registry(to):
    with pytest.raises(StageError) as caught:
        rollback.target_release(NoRegistry(), to)
    assert caught.value.exit_code == 2
    assert "\n" not in str(caught.value) and "invalid model version" in str(caught.value)
