"""sentiment.serve's helpers that need no server."""

import os

from prometheus_client import multiprocess

from sentiment.serve import forget_worker


def test_forgetting_a_worker_whose_files_are_already_removed_is_quiet(tmp_path, monkeypatch):
    """A stopping Granian server removes its metrics directory while a worker's watcher is still
    removing that worker's files: listed, then gone (a FileNotFoundError traceback on every such stop)."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    listed = tmp_path / "gauge_livesum_4242.db"
    listed.write_bytes(b"")
    real_glob = multiprocess.glob.glob

    def listed_then_removed(pattern):
        found = real_glob(pattern)
        for path in found:
            os.remove(path)
        return found

    monkeypatch.setattr(multiprocess.glob, "glob", listed_then_removed)
    forget_worker(4242)
    assert not listed.exists()


def test_forgetting_a_worker_removes_its_live_gauges_only(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for name in ("gauge_livesum_7.db", "gauge_liveall_7.db", "gauge_livesum_8.db", "counter_7.db"):
        (tmp_path / name).write_bytes(b"")
    forget_worker(7)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_7.db", "gauge_livesum_8.db"]
