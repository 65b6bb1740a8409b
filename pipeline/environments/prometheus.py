"""A local Prometheus (Debian's `prometheus`) on 127.0.0.1 that scrapes the local releases.

`up` writes <state_dir>/prometheus.yml (job "sentiment", the service's rules from
infra/monitoring/prometheus/rules.yml), starts Prometheus on a free port (or the one given),
waits until it is ready and records it in <state_dir>/state.json, as the emulator is recorded;
`down` stops only the Prometheus `up` started. Scrape targets are a file_sd file
(<state_dir>/targets.json) that Prometheus rereads when it changes: `set_targets` points it at
other releases without a restart. Its data lives in <state_dir>/data and survives a restart.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.cli import StageError
from pipeline.environments import processes
from pipeline.records import write_json_atomic

HOST = processes.LOOPBACK
READY_TIMEOUT_S = 30
JOB = "sentiment"
RULES = Path(__file__).resolve().parents[2] / "infra" / "monitoring" / "prometheus" / "rules.yml"


def endpoint_of(recorded: processes.Recorded) -> str:
    return f"http://{HOST}:{recorded.port}"


def answers(endpoint: str) -> bool:
    return processes.http_ok(f"{endpoint}/-/ready")


def _state(state_dir: Path) -> processes.StateFile:
    return processes.StateFile(state_dir / "state.json")


def status(state_dir: Path) -> processes.Recorded | None:
    return _state(state_dir).running(lambda r: answers(endpoint_of(r)))


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


def up(state_dir: Path, targets: list[str], port: int = 0, scrape_interval_s: float = 15) -> processes.Recorded:
    """The running Prometheus of state_dir (its targets updated), or a new one."""
    state_dir = state_dir.resolve()  # Prometheus reads relative paths in its config from the config's directory
    set_targets(state_dir, targets)
    if (running := status(state_dir)) is not None:
        return running
    binary = shutil.which("prometheus")
    if binary is None:
        raise StageError("prometheus not found: install Debian's prometheus package (apt-get install prometheus)", 2)
    write_json_atomic(state_dir / "prometheus.yml", config(state_dir, scrape_interval_s))  # JSON is YAML
    port = port or processes.free_port()
    endpoint = f"http://{HOST}:{port}"
    log_path = state_dir / "prometheus.log"
    command = [
        binary,
        f"--config.file={state_dir / 'prometheus.yml'}",
        f"--storage.tsdb.path={state_dir / 'data'}",
        f"--web.listen-address={HOST}:{port}",
    ]
    try:
        return _state(state_dir).start(command, port, log_path, lambda: answers(endpoint), READY_TIMEOUT_S)
    except processes.NotReady:
        raise StageError(f"Prometheus did not start on port {port}; see {log_path}", exit_code=2) from None


def down(state_dir: Path) -> bool:
    """Stop the Prometheus that `up` started here; never anything else."""
    state = _state(state_dir)
    recorded = state.read()
    if recorded is None:
        return False
    recorded.stop(grace_s=10)
    state.clear()
    return True
