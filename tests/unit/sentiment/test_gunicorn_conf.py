"""gunicorn's defaults (loopback bind, limits, timeouts), its JSON error pages, the healthcheck's default."""

import json
import os
import runpy
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def _gunicorn_conf(monkeypatch, tmp_path, **env):
    """The settings gunicorn would read from sentiment.gunicorn_conf under this environment."""
    for name in [n for n in os.environ if n.startswith(("GUNICORN_", "SERVE_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "restored-after-the-test")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the config makes its metrics directory
    return runpy.run_module("sentiment.gunicorn_conf")


def test_gunicorn_binds_loopback_unless_the_environment_says_otherwise(monkeypatch, tmp_path):
    assert _gunicorn_conf(monkeypatch, tmp_path)["bind"] == "127.0.0.1:8000"
    assert _gunicorn_conf(monkeypatch, tmp_path, GUNICORN_BIND="0.0.0.0:8000")["bind"] == "0.0.0.0:8000"


def test_the_image_binds_all_interfaces_itself():
    """The loopback default would make a container unreachable; the Dockerfile must say so explicitly."""
    assert "GUNICORN_BIND=0.0.0.0:8000" in (REPO / "Dockerfile").read_text()


def test_the_healthcheck_default_follows_the_loopback_bind(monkeypatch, capsys):
    from sentiment import healthcheck

    def refused(url, timeout):
        raise ConnectionRefusedError("refused")

    monkeypatch.delenv("GUNICORN_BIND", raising=False)
    monkeypatch.setattr(healthcheck.urllib.request, "urlopen", refused)
    assert healthcheck.main() == 1
    assert "http://127.0.0.1:8000/health" in capsys.readouterr().err


def test_gunicorn_limits_and_timeouts_are_set(monkeypatch, tmp_path):
    conf = _gunicorn_conf(monkeypatch, tmp_path)
    assert conf["limit_request_line"] <= 4096 and conf["limit_request_fields"] <= 50
    assert conf["limit_request_field_size"] <= 8190
    assert 0 < conf["timeout"] <= 60 and 0 < conf["graceful_timeout"] <= conf["timeout"]
    assert 0 < conf["keepalive"] <= 10  # an idle keep-alive connection is cheap, but not free
    assert conf["worker_connections"] <= 512  # gunicorn's default, 1000, is far beyond 4 threads
    assert _gunicorn_conf(monkeypatch, tmp_path, GUNICORN_KEEPALIVE="65")["keepalive"] == 65
    # The serve command's names apply under gunicorn too, and win, as they do under Granian.
    both = {"GUNICORN_GRACEFUL_TIMEOUT": "7", "SERVE_GRACEFUL_TIMEOUT": "9"}
    assert _gunicorn_conf(monkeypatch, tmp_path, **both)["graceful_timeout"] == 9


@pytest.mark.parametrize("value", ["x", "", "-1", "0", "1.5"])
def test_a_bad_gunicorn_number_is_one_line_not_a_traceback(monkeypatch, tmp_path, value):
    with pytest.raises(SystemExit) as stopped:
        _gunicorn_conf(monkeypatch, tmp_path, GUNICORN_WORKERS=value)
    assert str(stopped.value).startswith("sentiment: cannot start: GUNICORN_WORKERS=")
    assert "\n" not in str(stopped.value)
    assert not list(tmp_path.glob("sentiment-metrics-*")), "the metrics directory outlived the refused start"


def test_gunicorn_runs_the_json_error_worker(monkeypatch, tmp_path):
    assert _gunicorn_conf(monkeypatch, tmp_path)["worker_class"].__name__ == "JsonErrorWorker"


PAGE_414 = (
    b"HTTP/1.1 414 URI Too Long\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\n"
    b"<html>\n  <head>\n    <title>URI Too Long</title>\n  </head>\n  <body>\n    <h1><p>URI Too Long</p></h1>\n"
    b"    Request Line is too large (5014 &gt; 4096)\n  </body>\n</html>\n"
)
PAGE_500 = PAGE_414.replace(b"414 URI Too Long", b"500 Internal Server Error").replace(
    b"Request Line is too large (5014 &gt; 4096)", b""
)


@pytest.mark.parametrize(
    ("page", "status", "title", "description"),
    [
        (PAGE_414, 414, "URI Too Long", "Request Line is too large (5014 > 4096)"),
        (PAGE_500, 500, "Internal Server Error", "internal error; see the service log"),
        (b"", 500, "Error", "internal error; see the service log"),
    ],
)
def test_gunicorn_error_pages_become_the_api_json_error(monkeypatch, tmp_path, page, status, title, description):
    rewrite = _gunicorn_conf(monkeypatch, tmp_path)["json_error_response"]
    head, _, body = rewrite(page).partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == f"HTTP/1.1 {status} {title}"
    assert "Content-Type: application/json" in lines and f"Content-Length: {len(body)}" in lines
    assert json.loads(body) == {"error": {"status": status, "title": title, "description": description}}
