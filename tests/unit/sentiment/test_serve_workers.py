"""How `python -m sentiment serve` resolves its settings, what runs it (the image, local releases), and
its helpers that need no server."""

import os
from pathlib import Path

from prometheus_client import multiprocess

from sentiment.serve import forget_worker

REPO = Path(__file__).resolve().parents[3]


def _resolved(monkeypatch, argv, **env):
    from sentiment import __main__ as cli
    from sentiment import serve

    for name in [n for n in os.environ if n.startswith(("SERVE_", "GUNICORN_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return serve.resolve(cli._parser().parse_args(["serve", *argv]))


def test_serve_defaults_to_granian_on_loopback(monkeypatch):
    options = _resolved(monkeypatch, [])
    assert (options.server, options.bind, options.threads) == ("granian", "127.0.0.1:8000", 4)
    assert 1 <= options.workers <= 4 and options.access_log


def test_serve_settings_come_from_the_flag_then_serve_then_gunicorn_variables(monkeypatch):
    env = {"GUNICORN_BIND": "0.0.0.0:8000", "GUNICORN_WORKERS": "3", "GUNICORN_THREADS": "2"}
    options = _resolved(monkeypatch, [], **env)
    assert (options.bind, options.workers, options.threads) == ("0.0.0.0:8000", 3, 2)  # the image's variable
    options = _resolved(monkeypatch, [], **env, SERVE_BIND="127.0.0.1:9000", SERVE_WORKERS="1", SERVE_SERVER="gunicorn")
    assert (options.bind, options.workers, options.threads, options.server) == ("127.0.0.1:9000", 1, 2, "gunicorn")
    options = _resolved(monkeypatch, ["--bind", "127.0.0.1:9100", "--workers", "2", "--server", "granian"],
                        SERVE_BIND="127.0.0.1:9000", SERVE_WORKERS="1", SERVE_SERVER="gunicorn")  # fmt: skip
    assert (options.bind, options.workers, options.server) == ("127.0.0.1:9100", 2, "granian")
    assert not _resolved(monkeypatch, [], GUNICORN_ACCESSLOG="").access_log


def test_the_image_runs_the_serve_command():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'CMD ["python3", "-m", "sentiment", "serve"]' in dockerfile
    assert "GUNICORN_BIND=0.0.0.0:8000" in dockerfile  # read by serve (after SERVE_BIND): all interfaces there


def test_local_releases_without_an_image_run_the_serve_command():
    from pipeline.environments import processes

    command = processes.serve_command("127.0.0.1:8123")
    assert command[1:] == ["-m", "sentiment", "serve", "--bind", "127.0.0.1:8123"]
    source = (REPO / "pipeline/environments/local_release.py").read_text()
    assert "processes.serve_command(" in source and "gunicorn_command(" not in source


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
