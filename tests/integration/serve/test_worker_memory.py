"""Worker memory stays bounded under hostile tokens: 100 requests of random words at the size
limits, to the shipped serve command (Granian) and to gunicorn, two workers each, grow the
workers' RSS by less than 30 MB."""

import json
import random
import string
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def worker_pids(master: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[1]) == master:
            pids.append(int(stat.parent.name))
    return pids


def workers_rss_kb(master: int) -> int:
    total = 0
    for pid in worker_pids(master):
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])
    return total


REQUESTS = 100


def hostile_body(rng: random.Random, long_tokens: bool) -> bytes:
    """10 texts of 10,000 characters (100,000 in all: both limits) of random words, either
    single 10,000-letter words or words of 38 to 40 letters, the longest the token cache keeps."""
    letters = string.ascii_lowercase
    if long_tokens:
        texts = ["".join(rng.choices(letters, k=10_000)) for _ in range(10)]
    else:
        texts = []
        for _ in range(10):
            words = []
            while sum(len(w) + 1 for w in words) < 9_950:
                words.append("".join(rng.choices(letters, k=rng.randint(38, 40))))
            texts.append(" ".join(words))
    assert all(len(t) <= 10_000 for t in texts) and sum(map(len, texts)) > 99_000
    return json.dumps({"texts": texts}).encode()


def post(port: int, body: bytes) -> int:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/predict", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.parametrize("server", ["serve_two_workers", "gunicorn_two_workers"], ids=["granian", "gunicorn"])
def test_worker_memory_stays_bounded_under_random_long_tokens(server, request):
    master, port = request.getfixturevalue(server)
    rng = random.Random(20240601)
    for i in range(8):  # every thread's interpreters take their batch shapes, and the caches their first words
        assert post(port, hostile_body(rng, long_tokens=i % 2 == 0)) == 200
    before = workers_rss_kb(master)
    # Half of them are 125,000 cacheable random words in all: over 3x what the token cache may hold in bytes.
    statuses = [post(port, hostile_body(rng, long_tokens=i % 2 == 0)) for i in range(REQUESTS)]
    after = workers_rss_kb(master)
    growth_mb = (after - before) / 1024
    print(f"workers' RSS {before / 1024:.0f} MB -> {after / 1024:.0f} MB (+{growth_mb:.1f} MB), {REQUESTS} requests")
    assert statuses == [200] * REQUESTS
    assert len(worker_pids(master)) >= 2
    assert growth_mb < 30
