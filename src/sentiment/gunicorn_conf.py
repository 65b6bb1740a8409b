"""gunicorn settings, chosen deliberately; those read with `_env` or `_env_int` can be overridden by GUNICORN_<NAME>.

Threaded workers: each thread gets its own LiteRT interpreter (see sentiment.runtime).
No preload: the model loads in the workers, never in the master.
The default bind is loopback: a server started by hand is not reachable from the network;
the image sets GUNICORN_BIND=0.0.0.0:8000 because there the container's network is the boundary.
"""

import multiprocessing
import os
import shutil
import tempfile

# Workers are processes: prometheus_client's multiprocess mode keeps each worker's metrics in
# files here, and /metrics adds them up. Set before any worker imports prometheus_client;
# a fresh directory per server, so a restart does not inherit old counts.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="sentiment-metrics-")


def _env(name: str, default: str) -> str:
    return os.environ.get(f"GUNICORN_{name}", default)


def _env_int(name: str, default: int, low: int = 0) -> int:
    raw = _env(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low:
        # SystemExit, not ValueError: gunicorn prints a traceback for errors in its config file.
        raise SystemExit(f"sentiment: cannot start: GUNICORN_{name}={raw!r} is not an integer >= {low}")
    return value


bind = _env("BIND", "127.0.0.1:8000")
workers = _env_int("WORKERS", min(4, multiprocessing.cpu_count()), low=1)
worker_class = "gthread"
threads = _env_int("THREADS", 4, low=1)
# Connections per worker; past it a worker stops accepting and new ones wait in the backlog,
# so many idle keep-alive connections cannot take all of a worker's memory and file descriptors.
worker_connections = _env_int("WORKER_CONNECTIONS", 256, low=1)
timeout = _env_int("TIMEOUT", 30, low=1)  # a request never legitimately takes this long
graceful_timeout = _env_int("GRACEFUL_TIMEOUT", 20, low=1)
# Behind a load balancer this must exceed the balancer's idle timeout (an AWS ALB's is 60 s),
# or the server closes connections the balancer is about to reuse and clients see 502s.
keepalive = _env_int("KEEPALIVE", 5, low=0)
# Each worker listens on its own SO_REUSEPORT socket and the kernel spreads new connections
# over them. On one shared socket, whichever worker wakes first takes a burst of connections:
# a client (or load balancer) opening 32 keep-alive connections at once often landed all 32
# on one worker, halving throughput while the other idled.
reuse_port = True
preload_app = False
limit_request_line = 4096  # the API has short URLs; long ones are probes
limit_request_fields = 50  # a browser sends about 15 headers, a load balancer adds a few
limit_request_field_size = 8190  # one header, e.g. a cookie; all headers together are at most 50 of these
max_requests = _env_int("MAX_REQUESTS", 0)  # recycling is off: the service does not leak (see the soak test)
accesslog = _env("ACCESSLOG", "-") or None  # GUNICORN_ACCESSLOG= (empty) turns it off
errorlog = "-"
loglevel = _env("LOGLEVEL", "info")
# gunicorn's control socket is unused; its fixed path under $HOME would be shared by two
# releases running side by side and cannot be created on a read-only root filesystem.
control_socket_disable = True


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
