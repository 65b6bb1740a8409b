"""Slow clients cannot starve an EC2 instance: its HAProxy, as the user data ships it, under attack.

Terraform itself renders infra/modules/server/templates/user_data.sh.tftpl (`terraform console`,
`templatefile`, as the server module does); the haproxy.cfg heredoc is cut out of the script and run
by the real HAProxy in front of the real service (`python -m sentiment serve`) on the service port.
Only the bind address is changed, from all interfaces (`bind :PORT`) to loopback, for the test.
Then the attack of tests/integration/serve/test_slow_clients.py goes through the proxy port: 50 half-sent
headers and 50 half-sent bodies; normal /predict keeps answering within 100 ms and HAProxy answers
each slow connection 408 at its request deadline. /metrics (also URL-encoded) is refused with 403.
About 10 s once the session's model is trained.
"""

import base64
import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from slow_clients import (
    idle_connections,
    open_slow_clients,
    predict_seconds,
    running,
    service_env,
    trickle,
    trickled_bodies,
)

from pipeline.environments import processes
from pipeline.environments.load_balancer import (
    CLIENT_CONNECTIONS,
    CLIENT_LARGE_BYTES_PER_10S,
    CLIENT_LARGE_REQUESTS,
    ERRORS,
    LARGE_BODY_BYTES,
    REQUEST_BUFFER_BYTES,
    REQUEST_DEADLINE_S,
    error_file,
)
from sentiment.limits import MAX_BODY_BYTES

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("terraform") is None, reason="NOT TESTED: terraform is not installed (>= 1.5)"),
    pytest.mark.skipif(
        shutil.which("haproxy", path="/usr/sbin:/usr/bin") is None,
        reason="NOT TESTED: haproxy is not installed (apt-get install haproxy)",
    ),
]
TEMPLATE = Path(__file__).resolve().parents[3] / "infra/modules/server/templates/user_data.sh.tftpl"
PROXY = re.compile(r"^cat > /etc/haproxy/haproxy\.cfg <<'HAPROXY'\n(.*?)^HAPROXY$", re.S | re.M)


def rendered_user_data(port: int, service_port: int, workdir: Path) -> str:
    """The user data as Terraform renders it for an instance (values that pass the template's own checks)."""
    values = {
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sentiment-api:aaaaaaaaaaaa",
        "registry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        "model_version": "0123456789ab",
        "model_bucket": "models",
        "region": "eu-west-1",
        "service": "sentiment-api-dev",
        "log_group": "sentiment-api-dev/service",
        "environment": "dev",
    }
    arguments = ", ".join(f"{name} = {json.dumps(value)}" for name, value in values.items())
    # base64: the console prints strings HCL-quoted; base64 text needs no unquoting rules.
    verify_image = f"file({json.dumps(str(TEMPLATE.with_name('verify-image.py')))})"
    expression = (
        f"base64encode(templatefile({json.dumps(str(TEMPLATE))}, "
        f'{{ {arguments}, port = {port}, service_port = {service_port}, image_signing_public_key = "", '
        f"verify_image = {verify_image} }}))"
    )
    console = subprocess.run(
        ["terraform", "console"], input=expression, cwd=workdir, capture_output=True, text=True, timeout=60
    )
    assert console.returncode == 0, console.stderr
    return base64.b64decode(json.loads(console.stdout.strip())).decode()


@pytest.fixture(scope="module")
def instance(trained_dir, tmp_path_factory):
    """(proxy url, service url) of the instance's HAProxy and the service behind it."""
    tmp_path = tmp_path_factory.mktemp("instance")
    port, service_port = processes.free_port(), processes.free_port()
    (config,) = PROXY.findall(rendered_user_data(port, service_port, tmp_path))
    assert f"    bind :{port}\n" in config
    config = config.replace(f"    bind :{port}\n", f"    bind 127.0.0.1:{port}\n")  # loopback only, for the test
    (tmp_path / "haproxy.cfg").write_text(config)
    haproxy = shutil.which("haproxy", path="/usr/sbin:/usr/bin")
    proxy_url = f"http://127.0.0.1:{port}"
    env = service_env(trained_dir, SERVE_WORKERS="2", SERVE_ACCESSLOG="off")
    command = processes.serve_command(f"127.0.0.1:{service_port}")
    with running(command, env, tmp_path / "serve.log", service_port):
        proxy = processes.start_until_ready(
            [haproxy, "-db", "-f", str(tmp_path / "haproxy.cfg")],
            tmp_path / "haproxy.log",
            lambda: processes.http_ok(f"{proxy_url}/ready"),
            timeout_s=20,
        )
        try:
            yield proxy_url, f"http://127.0.0.1:{service_port}"
        finally:
            processes.stop_group(proxy.pid)


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:  # nosec B310 - loopback http only
            return resp.status
    except urllib.error.HTTPError as error:
        return error.code


def test_metrics_are_refused_through_the_instance_proxy(instance):
    proxy_url, service_url = instance
    assert status_of(f"{service_url}/metrics") == 200  # the service has them: the 403 below is the proxy's
    assert [status_of(f"{proxy_url}{path}") for path in ("/metrics", "/%6detrics", "//metrics")] == [403] * 3


def test_the_instance_proxy_answers_its_own_errors_in_the_local_endpoints_json(instance, tmp_path):
    """Every status HAProxy may answer itself has the service's JSON error body, as at the local endpoint."""
    proxy_url, _ = instance
    (config,) = PROXY.findall(rendered_user_data(8000, 8001, tmp_path))
    for status, title in ERRORS.items():
        line = next(x for x in config.splitlines() if x.strip().startswith(f"http-error status {status} "))
        body = line.split("string '", 1)[1].rstrip("'")
        assert json.loads(body) == json.loads(error_file(status, title).split("\r\n\r\n", 1)[1]), status
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{proxy_url}/metrics", timeout=5)
    assert refused.value.headers["Content-Type"] == "application/json"
    assert json.loads(refused.value.read())["error"]["status"] == 403


def test_half_sent_headers_and_bodies_do_not_slow_the_instance_and_are_closed(instance):
    proxy_url, _ = instance
    opened = time.monotonic()
    slow = open_slow_clients(int(proxy_url.rsplit(":", 1)[1]))
    time.sleep(0.5)
    timings = [predict_seconds(proxy_url) for _ in range(30)]
    print(f"\n/predict through the instance proxy with 100 slow clients open: max {max(timings) * 1000:.1f} ms")
    assert max(timings) < 0.1
    # The instance's deadline is the local endpoint's (README: 5 s): each slow connection is answered 408
    # by HAProxy then, not later (a raised `timeout http-request` fails here) and not sooner.
    answered = []
    for number, sock in enumerate(slow):
        sock.settimeout(max(0.1, opened + REQUEST_DEADLINE_S + 2 - time.monotonic()))
        try:
            answer = sock.recv(4096)
        except TimeoutError:
            pytest.fail(f"slow connection {number} still open {REQUEST_DEADLINE_S + 2} s after it was opened")
        answered.append(time.monotonic() - opened)
        assert answer.split(b"\r\n", 1)[0].split()[1:2] == [b"408"], (number, answer)
        if number % 2 == 0:  # a request whose headers arrived: the JSON error, as at the local endpoint
            assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["status"] == 408, answer
        sock.close()
    print(f"100 slow connections answered 408 between {answered[0]:.1f} s and {answered[-1]:.1f} s")
    assert answered[0] > REQUEST_DEADLINE_S - 1


def test_the_instance_proxy_has_the_local_endpoints_buffer_and_client_limits(tmp_path):
    """One set of numbers: the instance's HAProxy buffers and limits as the local endpoint does (sentiment.limits)."""
    (config,) = PROXY.findall(rendered_user_data(8000, 8001, tmp_path))
    for line in (
        f"tune.bufsize {REQUEST_BUFFER_BYTES}",
        f"{{ sc_conn_cur(0) gt {CLIENT_CONNECTIONS} }}",
        f"http-request deny deny_status 413 if {{ req.body_size gt {MAX_BODY_BYTES} }}",
        f"{{ req.body_size gt {LARGE_BODY_BYTES} }}",
        f"http-request deny deny_status 429 if {{ sc_conn_cur(1) gt {CLIENT_LARGE_REQUESTS} }}",
        f"http-request deny deny_status 429 if {{ sc_bytes_in_rate(1) gt {CLIENT_LARGE_BYTES_PER_10S} }}",
        "store conn_cur,bytes_in_rate(10s)",
    ):
        assert line in config, line


def test_trickled_bodies_and_idle_connections_do_not_slow_the_instance(instance):
    """The local endpoint's attack (tests/integration/serve/test_abusive_clients.py) on the instance's proxy:
    12 clients trickling 200 KB bodies and 4,200 idle connections from one client; /predict stays under 1 s."""
    proxy_url, _ = instance
    port = int(proxy_url.rsplit(":", 1)[1])
    trickling = trickled_bodies(port, 12, source="127.0.0.2")
    idle = idle_connections(port, 4_200, source="127.0.0.3")
    timings = []
    for _ in range(20):
        trickle(trickling)
        timings.append(predict_seconds(proxy_url))
        time.sleep(0.2)
    for sock in trickling + idle:
        sock.close()
    print(
        f"\n/predict through the instance proxy under 12 trickled bodies and {len(idle)} idle connections: "
        f"max {max(timings):.3f} s"
    )
    assert max(timings) < 1.0, timings
