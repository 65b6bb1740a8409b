"""The local Prometheus keeps its lifecycle API off: nothing on the machine can make it quit or reload
over HTTP (its targets change through the file it rereads; a new configuration means a restart)."""

import shutil
import urllib.error
import urllib.request

import pytest

from pipeline.environments import prometheus
from pipeline.environments.prometheus import endpoint_of

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="NOT TESTED: prometheus is not installed"),
]


def test_the_local_prometheus_refuses_quit_and_reload_over_http(tmp_path):
    recorded = prometheus.up(tmp_path / "prometheus", targets=[])
    try:
        endpoint = endpoint_of(recorded)
        for path in ("/-/quit", "/-/reload"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(urllib.request.Request(f"{endpoint}{path}", method="POST"), timeout=10)  # nosec B310
            assert refused.value.code == 403, path
        assert prometheus.PROMETHEUS.answers(endpoint)
    finally:
        prometheus.down(tmp_path / "prometheus")
