"""Which version served when: the promotion history as a hash chain, read back and refused when tampered."""

import json
import time
from datetime import UTC, datetime

import pytest

from pipeline.commands import models
from pipeline.errors import run
from pipeline.model_registry import TamperedHistory
from pipeline.settings import get_settings
from sentiment.model_registry import CHAMPION_KEY, HISTORY_PREFIX, version_prefix

pytestmark = pytest.mark.slow
A, B = "aaaaaaaaaaaa", "bbbbbbbbbbbb"


def published(registry, version):
    """A version the registry lists (its manifest); promotion reads nothing else."""
    body = json.dumps({"version": version, "files": {}}).encode()
    registry.s3.put_object(Bucket=registry.bucket, Key=version_prefix(version) + "manifest.json", Body=body)


@pytest.fixture
def cli(settings, monkeypatch):
    """`python -m pipeline.models` on this test's bucket (it reads its settings once per process)."""
    monkeypatch.setenv("MODEL_BUCKET_NAME", settings.model_bucket)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def instant():
    moment = datetime.now(UTC)
    time.sleep(0.01)
    return moment


@pytest.fixture
def two_releases_and_a_rollback(registry):
    published(registry, A)
    published(registry, B)
    before = instant()
    registry.promote(A, {"kind": "release", "promoted_by": "alice"})
    during_a = instant()
    registry.promote(B, {"kind": "release", "promoted_by": "bob", "approved_by": "carol"})
    during_b = instant()
    registry.promote(A, {"kind": "rollback", "promoted_by": "dave"})
    return registry, before, during_a, during_b, instant()


def test_history_at_names_the_version_that_served_then(two_releases_and_a_rollback, cli, capsys):
    registry, before, during_a, during_b, after = two_releases_and_a_rollback
    events = registry.history()
    assert [(e["version"], e["kind"]) for e in events] == [(A, "release"), (B, "release"), (A, "rollback")]
    assert models.serving_at(events, before) is None
    assert models.serving_at(events, during_a)["version"] == A
    assert models.serving_at(events, during_b)["approved_by"] == "carol"
    assert models.serving_at(events, after)["kind"] == "rollback"
    assert run("models", models.main, ["history", "--at", during_b.isoformat()]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert len(rows) == 1 and rows[0].split()[1] == B and "carol" in rows[0]


@pytest.mark.parametrize("tamper", ["change", "remove", "insert", "champion"])
def test_a_tampered_history_is_refused_in_one_line(two_releases_and_a_rollback, cli, capsys, tamper):
    registry = two_releases_and_a_rollback[0]
    keys = sorted(
        o["Key"] for o in registry.s3.list_objects_v2(Bucket=registry.bucket, Prefix=HISTORY_PREFIX)["Contents"]
    )
    if tamper == "change":  # the record of who released B rewritten
        entry = json.loads(registry.s3.get_object(Bucket=registry.bucket, Key=keys[1])["Body"].read())
        registry.s3.put_object(
            Bucket=registry.bucket, Key=keys[1], Body=json.dumps({**entry, "promoted_by": "mallory"})
        )
    elif tamper == "remove":
        registry.s3.delete_object(Bucket=registry.bucket, Key=keys[1])
    elif tamper == "insert":
        forged = {"version": B, "promoted": "2000-01-01T00:00:00+00:00", "kind": "release"}
        registry.s3.put_object(
            Bucket=registry.bucket, Key=f"{HISTORY_PREFIX}20000101T000000-{B}.json", Body=json.dumps(forged)
        )
    else:  # the pointer moved by hand, without a promotion
        champion = json.loads(registry.s3.get_object(Bucket=registry.bucket, Key=CHAMPION_KEY)["Body"].read())
        registry.s3.put_object(Bucket=registry.bucket, Key=CHAMPION_KEY, Body=json.dumps({**champion, "version": B}))
    with pytest.raises(TamperedHistory):
        registry.history()
    assert run("models", models.main, ["history"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "models: error:" in err


def test_a_history_without_a_chain_still_reads(registry):
    """Entries written before the chain existed carry no link: read as they are."""
    published(registry, A)
    old = {"version": A, "promoted": "2026-11-01T00:00:00+00:00", "kind": "release"}
    registry.s3.put_object(
        Bucket=registry.bucket, Key=f"{HISTORY_PREFIX}20261101T000000-{A}.json", Body=json.dumps(old)
    )
    assert [e["version"] for e in registry.history()] == [A]
