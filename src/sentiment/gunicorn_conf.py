"""gunicorn settings, chosen deliberately; each can be overridden by the matching GUNICORN_* variable.

Threaded workers: each thread gets its own LiteRT interpreter (see sentiment.runtime).
No preload: the model loads in the workers, never in the master.
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


bind = _env("BIND", "0.0.0.0:8000")
workers = int(_env("WORKERS", str(min(4, multiprocessing.cpu_count()))))
worker_class = "gthread"
threads = int(_env("THREADS", "4"))
timeout = int(_env("TIMEOUT", "30"))  # a request never legitimately takes this long
graceful_timeout = 20
keepalive = 5
# Each worker listens on its own SO_REUSEPORT socket and the kernel spreads new connections
# over them. On one shared socket, whichever worker wakes first takes a burst of connections:
# a client (or load balancer) opening 32 keep-alive connections at once often landed all 32
# on one worker, halving throughput while the other idled.
reuse_port = True
preload_app = False
limit_request_line = 4096  # the API has short URLs; long ones are probes
limit_request_fields = 50
limit_request_field_size = 8190
max_requests = int(_env("MAX_REQUESTS", "0"))  # recycling is off: the service does not leak (see the soak test)
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
