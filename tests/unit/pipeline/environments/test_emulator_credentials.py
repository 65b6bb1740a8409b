"""The AWS-like mode of `local` (LOCAL_AWS_CREDENTIALS=bound): the emulator gets the caller's bound keys, and
a stage without any stops, as it would in AWS; the default mode sends the emulator's dummy keys."""

from __future__ import annotations

import os

import pytest

from pipeline.environments import emulator
from pipeline.errors import StageError

ENDPOINT = "http://127.0.0.1:1"


@pytest.fixture
def clean(monkeypatch):
    for name in (*emulator.DUMMY_CREDENTIALS, *emulator.FOREIGN_CREDENTIALS, "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_bound_keeps_the_callers_keys_and_drops_foreign_sources(clean):
    clean.setenv("AWS_ACCESS_KEY_ID", "read-only-key")
    clean.setenv("AWS_SECRET_ACCESS_KEY", "read-only-secret")
    clean.setenv("AWS_PROFILE", "prod")
    emulator.point_this_process_at("eu-west-1", ENDPOINT, bound=True)
    assert os.environ["AWS_ACCESS_KEY_ID"] == "read-only-key"
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == "read-only-secret"  # pragma: allowlist secret
    assert os.environ["AWS_ENDPOINT_URL"] == ENDPOINT and "AWS_PROFILE" not in os.environ


@pytest.mark.parametrize("present", [(), ("AWS_ACCESS_KEY_ID",)])
def test_bound_without_keys_stops_with_one_line(clean, present):
    for name in present:
        clean.setenv(name, "x")
    with pytest.raises(StageError, match="no AWS credentials bound for this stage") as raised:
        emulator.point_this_process_at("eu-west-1", ENDPOINT, bound=True)
    assert raised.value.exit_code == 2 and "\n" not in str(raised.value)
    assert "AWS_ENDPOINT_URL" not in os.environ


def test_dummy_replaces_whatever_keys_were_there(clean):
    clean.setenv("AWS_ACCESS_KEY_ID", "a-real-key")
    emulator.point_this_process_at("eu-west-1", ENDPOINT)
    assert {k: os.environ[k] for k in emulator.DUMMY_CREDENTIALS} == emulator.DUMMY_CREDENTIALS
