"""A local Prometheus (Debian's `prometheus`) on 127.0.0.1 that scrapes the local releases.

A LocalService (`python -m pipeline.local prometheus up|down|status|targets`); `up` writes
<state_dir>/prometheus.yml first (job "sentiment", the service's rules from
infra/monitoring/prometheus/rules.yml). Scrape targets are a file_sd file
(<state_dir>/targets.json) that Prometheus rereads when it changes: `set_targets` points it at
other releases without a restart. Its data lives in <state_dir>/data and survives a restart.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.environments import processes
from pipeline.environments.local_service import HOST, LocalService, program
from pipeline.records import write_json_atomic

JOB = "sentiment"
RULES = Path(__file__).resolve().parents[2] / "infra" / "monitoring" / "prometheus" / "rules.yml"


def set_targets(state_dir: Path, urls: list[str]) -> None:
    """Scrape these releases (base URLs, http://host:port) from now on."""
    targets = sorted({urlsplit(url).netloc for url in urls if url})
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / ".targets.json"
    tmp.write_text(json.dumps([{"targets": targets, "labels": {}}]))
    tmp.replace(state_dir / "targets.json")  # atomic: Prometheus never reads half a file


def config(state_dir: Path, scrape_interval_s: float) -> dict:
    return {
        "global": {"scrape_interval": f"{scrape_interval_s:g}s", "evaluation_interval": f"{scrape_interval_s:g}s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {
                "job_name": JOB,
                "metrics_path": "/metrics",
                "file_sd_configs": [{"files": [str(state_dir / "targets.json")], "refresh_interval": "5s"}],
            }
        ],
    }


class Prometheus(LocalService):
    title = "local Prometheus"
    ready_path = "/-/ready"
    log_name = "prometheus.log"
    stop_grace_s = 10

    def up(  # type: ignore[override]  # its targets and scrape interval besides
        self, state_dir: Path, port: int = 0, targets: Sequence[str] = (), scrape_interval_s: float = 15
    ) -> processes.Recorded:
        """The running Prometheus of state_dir (its targets updated), or a new one."""
        state_dir = state_dir.resolve()  # Prometheus reads relative paths in its config from the config's directory
        set_targets(state_dir, list(targets))
        if (running := self.status(state_dir)) is None:
            write_json_atomic(state_dir / "prometheus.yml", config(state_dir, scrape_interval_s))  # JSON is YAML
        return running or super().up(state_dir, port)

    def command(self, state_dir: Path, port: int) -> list[str]:
        binary = program("prometheus", "install Debian's prometheus package (apt-get install prometheus)")
        return [
            binary,
            f"--config.file={state_dir / 'prometheus.yml'}",
            f"--storage.tsdb.path={state_dir / 'data'}",
            f"--web.listen-address={HOST}:{port}",
        ]


PROMETHEUS = Prometheus()
up, down, status, endpoint_of = PROMETHEUS.up, PROMETHEUS.down, PROMETHEUS.status, PROMETHEUS.url
