"""The command lines and a real gunicorn server, as a user runs them."""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pipeline import STAGES
from pipeline.environments.processes import gunicorn_command

REPO = Path(__file__).resolve().parents[2]


def run(args, env=None, cwd=REPO, timeout=120):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


@pytest.mark.parametrize(
    "module",
    [
        "sentiment",
        "pipeline",
        "pipeline.local",
        "pipeline.models",
        "pipeline.rollback",
        "pipeline.monitor",
        "bench",
        *(f"pipeline.{s}" for s in STAGES),
    ],
)
def test_every_cli_has_help(module):
    out = run(["-m", module, "--help"])
    assert out.returncode == 0, out.stderr
    assert "usage:" in out.stdout


def test_pipeline_list_prints_the_stages_in_order():
    out = run(["-m", "pipeline", "--list"])
    assert out.returncode == 0 and out.stdout.split() == list(STAGES)


@pytest.mark.slow
def test_predict_cli_on_the_trained_artifact(trained_dir):
    out = run(["-m", "sentiment", "predict", "--model", str(trained_dir), "have", "a", "nice", "day!"])
    assert out.returncode == 0, out.stderr
    score, label = out.stdout.split()[:2]
    assert label == "positive" and float(score) >= 0.5


def test_predict_cli_without_a_model_is_one_clear_line(tmp_path, clean_env):
    out = run(["-m", "sentiment", "predict", "--model", str(tmp_path / "none"), "hello"], env=clean_env)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "no model artifact" in out.stderr


def _request(url, body=None, content_type="application/json"):
    req = urllib.request.Request(url, data=body, headers={"Content-Type": content_type} if body else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _gunicorn(port, env):
    cmd = gunicorn_command(f"127.0.0.1:{port}")
    return subprocess.Popen(cmd, env=env, cwd=env["HOME"], stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_gunicorn_serves_predict_and_rejects_bad_input(trained_dir, free_port, clean_env):
    env = {**clean_env, "MODEL_DIR": str(trained_dir), "GUNICORN_WORKERS": "2", "GUNICORN_ACCESSLOG": ""}
    server = _gunicorn(free_port, env)
    base = f"http://127.0.0.1:{free_port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _request(f"{base}/health")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, server.stderr.read()
            assert time.monotonic() < deadline, "gunicorn did not become healthy in 30 s"
            time.sleep(0.2)
        status, body = _request(f"{base}/predict", b'{"text": "have a nice day!"}')
        assert status == 200 and json.loads(body)["label"] == "positive"
        for raw, ctype, expected in [
            (b"{oops", "application/json", 400),
            (b'{"text": 1}', "application/json", 400),
            (b'{"text": "hi"}', "text/plain", 415),
        ]:
            status, body = _request(f"{base}/predict", raw, ctype)
            assert status == expected and "error" in json.loads(body)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_gunicorn_without_a_model_stops_at_once_with_one_line(tmp_path, free_port, clean_env):
    env = {**clean_env, "MODEL_DIR": str(tmp_path / "missing")}
    server = _gunicorn(free_port, env)
    try:
        _, stderr = server.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        pytest.fail("gunicorn kept running without a model")
    assert server.returncode != 0
    lines = [ln for ln in stderr.splitlines() if "sentiment: cannot start" in ln]
    assert len(lines) >= 1 and "no model artifact" in lines[0]


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


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["--workers", "0"], {}, "--workers='0' is not an integer >= 1"),
        ([], {"SERVE_THREADS": "many"}, "SERVE_THREADS='many' is not an integer >= 1"),
        ([], {"SERVE_BIND": "8000"}, "SERVE_BIND='8000' is not HOST:PORT"),
        ([], {"SERVE_SERVER": "uwsgi"}, "SERVE_SERVER='uwsgi' is not one of granian, gunicorn"),
    ],
)
def test_serve_with_a_bad_setting_is_one_line(argv, env, expected, clean_env, tmp_path):
    env = {k: v for k, v in clean_env.items() if not k.startswith(("SERVE_", "GUNICORN_"))} | env
    out = run(["-m", "sentiment", "serve", *argv], env=env, cwd=tmp_path, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip() == f"sentiment: cannot start: {expected}"


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


def test_ctrl_c_gives_exit_130_even_when_sigint_was_inherited_ignored(capsys):
    """A job started in the background by a non-interactive shell (as CI starts its jobs) inherits
    SIGINT ignored; the stage must still turn Ctrl-C into exit 130 and one line (it gave 1: terraform
    took the signal back and failed, and the stage never saw the interrupt)."""
    import signal

    from pipeline.cli import run as run_stage

    def interrupted(argv):
        signal.raise_signal(signal.SIGINT)
        return 0

    before_int, before_term = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert run_stage("provision", interrupted, []) == 130
    finally:
        signal.signal(signal.SIGINT, before_int)
        signal.signal(signal.SIGTERM, before_term)
    assert capsys.readouterr().err == "provision: interrupted\n"
