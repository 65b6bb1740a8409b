"""Local releases (pipeline.environments.local_release) when the deploy that starts one is killed.

SIGKILL (a Jenkins agent lost, `kill -9`, the OOM killer) runs no cleanup: whatever the state files
say at that moment is what the next deploy, rollback or `--stop-local` acts on. While the switch to a
new release runs (a progressive rollout takes minutes), the release that serves must stay the recorded
one and the new one must be recorded apart, so that neither is left running unknown.
"""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import environments
from pipeline.environments import local_release, processes
from pipeline.settings import PipelineSettings

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]
# Starts the release "new" and is SIGKILLed inside its switch: at once or, given the load balancer's
# directory and port, once "new" has 10% of the traffic, as during a progressive rollout.
KILLED_DURING_SWITCH = """
import os, signal, sys
from pathlib import Path
from pipeline.environments import local_release
from pipeline.environments.load_balancer import LoadBalancer

def switch(port):
    if len(sys.argv) > 2:
        balancer = LoadBalancer(Path(sys.argv[2]), int(sys.argv[3]))
        champion = balancer.serving().name
        balancer.set_weights({balancer.stage(port): 10, champion: 90})
    os.kill(os.getpid(), signal.SIGKILL)

local_release.start(Path(sys.argv[1]), {"model_version": "new"}, dict(os.environ), None, switch=switch)
"""


def kill_a_deploy_during_its_switch(state_dir, env, balancer=None):
    where = [str(balancer.state_dir), str(balancer.port)] if balancer else []
    killed = subprocess.run([sys.executable, "-c", KILLED_DURING_SWITCH, str(state_dir), *where],
                            env=env, cwd=REPO, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr


def weighted_ports(balancer):
    return {slot.port: slot.weight for slot in balancer.slots().values() if slot.weight > 0}


@pytest.fixture
def serve_env(trained_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "SERVE_", "GUNICORN_"))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env | {"MODEL_DIR": str(trained_dir), "SERVE_WORKERS": "1", "SERVE_THREADS": "1"}


def test_a_deploy_killed_during_its_switch_leaves_the_serving_release_recorded(serve_env, tmp_path):
    state_dir = tmp_path / "releases"
    champion = local_release.start(state_dir, {"model_version": "old"}, serve_env, None)
    try:
        kill_a_deploy_during_its_switch(state_dir, serve_env)
        current = local_release.current(state_dir)
        assert current is not None and current.pid == champion.pid, "the champion is no longer recorded"
        candidate = local_release.interrupted(state_dir)
        assert candidate is not None and candidate.is_ours, "the killed deploy's candidate runs unrecorded"
        assert candidate.details["release"]["model_version"] == "new"

        assert local_release.retire_interrupted(state_dir)
        assert not candidate.is_ours and local_release.interrupted(state_dir) is None
        assert local_release.current(state_dir).pid == champion.pid
    finally:
        local_release.stop(state_dir)
    assert not champion.is_ours


def test_stop_local_also_stops_a_killed_deploys_candidate(serve_env, tmp_path):
    state_dir = tmp_path / "releases"
    kill_a_deploy_during_its_switch(state_dir, serve_env)
    candidate = local_release.interrupted(state_dir)
    assert candidate is not None and candidate.is_ours
    local_release.stop(state_dir)
    assert not candidate.is_ours


@pytest.mark.skipif(shutil.which("haproxy", path="/usr/sbin:/usr/bin") is None, reason="NOT TESTED: no haproxy")
def test_a_rollback_after_a_killed_deploy_gives_the_champion_all_traffic_and_stops_the_candidate(serve_env, tmp_path):
    """The lifecycle test covers the next deploy; a rollback (here with nothing parked) recovers the same way."""
    settings = PipelineSettings(artifacts_dir=tmp_path, local_endpoint_port=processes.free_port(), _env_file=None)
    environment = environments.current(settings)
    balancer = environment.load_balancer()
    balancer.up()
    state_dir = settings.local_release_dir
    try:
        champion = local_release.start(state_dir, {"model_version": "old"}, serve_env, None, balancer.switch_to)
        kill_a_deploy_during_its_switch(state_dir, serve_env, balancer)
        candidate = local_release.interrupted(state_dir)
        assert weighted_ports(balancer) == {champion.port: 90, candidate.port: 10}

        assert environment.restore_previous() is None  # nothing parked: no rollback target
        assert weighted_ports(balancer) == {champion.port: 100}
        assert not candidate.is_ours and local_release.interrupted(state_dir) is None
        assert local_release.current(state_dir).pid == champion.pid
    finally:
        local_release.stop(state_dir)
        balancer.down()
