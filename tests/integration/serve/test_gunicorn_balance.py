"""Bursts of keep-alive connections are spread over the gunicorn workers (SO_REUSEPORT).

With one shared listening socket, the worker that woke first often took every
connection of a burst (32 of 32 in about a third of wrk runs), halving throughput.
"""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest


def established_per_worker(master: int, port: int) -> list[int]:
    """Per worker, its ESTABLISHED TCP connections on the server port (from /proc, no tools)."""
    established = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            established.add(fields[9])  # socket inode
    counts = []
    for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split():
        fds = Path(f"/proc/{pid}/fd")
        inodes = {os.readlink(fd)[8:-1] for fd in fds.iterdir() if os.readlink(fd).startswith("socket:")}
        counts.append(len(inodes & established))
    return counts


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk (apt-get install wrk; .ci/run installs it)")
def test_wrk_connection_bursts_reach_both_workers(gunicorn_two_workers):
    master, port = gunicorn_two_workers
    time.sleep(1)  # both workers booted and listening
    splits = []
    for _ in range(6):  # without the fix about a third of these runs put all 32 on one worker
        wrk = ["wrk", "-t2", "-c32", "-d3s", f"http://127.0.0.1:{port}/health"]
        load = subprocess.Popen(wrk, stdout=subprocess.DEVNULL)
        time.sleep(1.5)
        splits.append(established_per_worker(master, port))
        load.wait(timeout=30)
    # Hashing 32 connections over 2 sockets leaves 3 or fewer on one with p ~ 2e-6.
    assert all(len(split) == 2 and min(split) >= 4 for split in splits), f"connections per worker: {splits}"
