"""The command lines as a user runs them: --help everywhere, one-line errors, a real gunicorn server."""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pipeline.environments.processes import gunicorn_command
from pipeline.stages import declared, names

REPO = Path(__file__).resolve().parents[3]
STAGES = names()
COMMANDS = [command.name for command in declared("pipeline.commands")]


def run(args, env=None, cwd=REPO, timeout=120):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


@pytest.mark.parametrize(
    "module",
    [
        "sentiment",
        "pipeline",
        "bench",
        *(f"pipeline.{s}" for s in STAGES + COMMANDS),
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
