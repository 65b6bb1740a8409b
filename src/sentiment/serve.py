"""`python -m sentiment serve`: the service's one start command, under Granian (default) or gunicorn.

    python -m sentiment serve [--bind HOST:PORT] [--workers N] [--threads N] [--server granian|gunicorn]

Each setting is, in order: the flag, SERVE_<NAME>, GUNICORN_<NAME> (the names deployments and the
image already set, read by both servers), the default. SERVE_SERVER picks the server.
gunicorn runs with sentiment.gunicorn_conf (its other GUNICORN_* settings apply as before).

Under Granian (the same Falcon WSGI app, `sentiment.wsgi:api`), as under gunicorn:
- the model loads in the worker processes, never in this (master) process (which imports only
  the heavy third-party libraries before forking them, see preload_libraries);
- a worker that cannot start exits with WORKER_BOOT_ERROR after its one line,
  `sentiment: cannot start: ...`, and the server then stops with that code instead of respawning;
  a worker that dies later (killed, crashed) is respawned;
- each of a worker's SERVE_THREADS threads has its own LiteRT interpreter (sentiment.runtime);
- Prometheus metrics are summed over the workers (a fresh PROMETHEUS_MULTIPROC_DIR per server,
  set before any worker starts; a dead worker is marked dead);
- SIGTERM stops accepting, lets in-flight requests finish (up to SERVE_GRACEFUL_TIMEOUT), then exits;
- each worker binds its own SO_REUSEPORT socket, so the kernel spreads connections over the workers;
  a port that another server already listens on is refused at start with one line (SO_REUSEPORT
  would otherwise let this server join it and take a share of that server's traffic);
- saturated, the server queues: a request waits for a free thread (up to SERVE_BACKPRESSURE
  requests per worker, then connections wait in the listen backlog) and is answered in turn;
  nothing is refused with 503. The load balancer's timeout bounds the wait.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from dataclasses import dataclass
from typing import Any

APP = "sentiment.wsgi:api"
SERVERS = ("granian", "gunicorn")
DEFAULT_BIND = "127.0.0.1:8000"
# gunicorn halts the whole server (instead of respawning forever) when a worker exits with this code;
# the Granian server here does the same.
WORKER_BOOT_ERROR = 3
# Granian's read buffer for a request's head (request line and headers). Its HTTP library checks the
# limit as the buffer grows in steps, so a head is refused (414 for the URL, else 431) between about
# 32 and 64 KiB: plenty for a browser, a load balancer and a cookie (gunicorn's limits, in
# sentiment.gunicorn_conf, are 4 KiB for the request line and 50 headers of 8 KiB). At most 100 headers.
MAX_HEAD_BYTES = 32 * 1024


class SettingError(ValueError):
    """A serve setting that cannot be used; its message names the variable or flag."""


def _env(name: str) -> tuple[str, str] | None:
    for prefix in ("SERVE_", "GUNICORN_"):
        value = os.environ.get(prefix + name)
        if value is not None:
            return prefix + name, value
    return None


def int_setting(name: str, flag: int | None, default: int, low: int = 1) -> int:
    """The flag, else SERVE_<name>, else GUNICORN_<name>, else the default; SettingError names the bad one."""
    if flag is not None:
        where, raw = f"--{name.lower()}", str(flag)
    else:
        found = _env(name)
        if found is None:
            return default
        where, raw = found
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low:
        raise SettingError(f"{where}={raw!r} is not an integer >= {low}")
    return value


def split_bind(bind: str, where: str = "--bind") -> tuple[str, int]:
    host, sep, port = bind.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingError(f"{where}={bind!r} is not HOST:PORT")
    return host, int(port)


@dataclass(frozen=True)
class Options:
    server: str
    bind: str
    workers: int
    threads: int
    graceful_timeout: int
    backpressure: int
    access_log: bool

    @property
    def host_port(self) -> tuple[str, int]:
        return split_bind(self.bind)


def resolve(args: argparse.Namespace) -> Options:
    """The settings from the flags, then SERVE_*, then GUNICORN_*, then the defaults."""
    found = _env("SERVER")
    server = args.server or (found[1] if found else "granian")
    if server not in SERVERS:
        raise SettingError(f"{'--server' if args.server else found[0]}={server!r} is not one of {', '.join(SERVERS)}")
    bind_found = _env("BIND")
    bind = args.bind or (bind_found[1] if bind_found else DEFAULT_BIND)
    split_bind(bind, "--bind" if args.bind else bind_found[0] if bind_found else "bind")
    threads = int_setting("THREADS", args.threads, 4)
    access = _env("ACCESSLOG")
    return Options(
        server=server,
        bind=bind,
        workers=int_setting("WORKERS", args.workers, min(4, multiprocessing.cpu_count())),
        threads=threads,
        graceful_timeout=int_setting("GRACEFUL_TIMEOUT", None, 20),
        # Requests a worker takes on at once; past it, connections wait in the listen backlog.
        backpressure=int_setting("BACKPRESSURE", None, 128),
        # GUNICORN_ACCESSLOG= (empty) turns gunicorn's off; the same (or off/0) turns Granian's off.
        access_log=access is None or access[1].strip().lower() not in ("", "0", "off", "false", "no"),
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bind", help=f"HOST:PORT to listen on (SERVE_BIND, GUNICORN_BIND; default {DEFAULT_BIND})")
    parser.add_argument("--workers", type=int, help="worker processes (SERVE_WORKERS; default min(4, cores))")
    parser.add_argument("--threads", type=int, help="threads per worker (SERVE_THREADS; default 4)")
    parser.add_argument("--server", choices=SERVERS, help="HTTP server (SERVE_SERVER; default granian)")


def ensure_port_free(bind: str) -> None:
    """SettingError when another server listens on BIND already.

    Both servers bind with SO_REUSEPORT, which lets a second server join a port that a first one
    serves and silently take a share of its connections. A plain bind (SO_REUSEADDR only, so that
    connections in TIME_WAIT do not count) fails while any socket listens there.
    """
    host, port = split_bind(bind)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise SettingError(f"{bind} is already in use (another server listens there)") from None
            raise SettingError(f"cannot bind {bind}: {exc.strerror}") from None


def main(args: argparse.Namespace) -> int:
    try:
        options = resolve(args)
        ensure_port_free(options.bind)
    except SettingError as exc:
        print(f"sentiment: cannot start: {exc}", file=sys.stderr)
        return 2
    if options.server == "gunicorn":
        return exec_gunicorn(options)
    return run_granian(options)


def gunicorn_argv(options: Options, app: str = APP) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", "-c", "python:sentiment.gunicorn_conf",
        "--bind", options.bind, "--workers", str(options.workers), "--threads", str(options.threads), app,
    ]  # fmt: skip


def exec_gunicorn(options: Options) -> int:
    argv = gunicorn_argv(options)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)  # noqa: S606  # nosec B606 - our own interpreter and a fixed module
    return 0  # not reached


def run_granian(options: Options, app: str = APP) -> int:
    # Before anything imports prometheus_client: the workers (forked from here) then use multiprocess mode.
    metrics_dir = tempfile.mkdtemp(prefix="sentiment-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    preload_libraries()
    try:
        server = _granian_server(options, app)
        server.serve(target_loader=load_in_worker)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def preload_libraries() -> None:
    """Import the app's heavy third-party libraries once, here, so that forked workers start with them.

    Measured on 2 idle cores: launch to ready 0.67 s without, 0.56 s with (the workers no longer
    import numpy, Falcon and pydantic-settings each), and the pages are shared. Only libraries that
    start nothing: never LiteRT, the model, prometheus_client (its multiprocess files are per
    process) or sentiment's own modules.
    """
    import falcon  # noqa: F401
    import numpy  # noqa: F401
    import pydantic_settings  # noqa: F401


def load_in_worker(target: str) -> Any:
    """Granian's target loader, run first thing in each worker process: the app (and so the model) loads here.

    A forked worker inherits the master's Python signal handlers until Granian sets its own, after
    the app has loaded: a SIGTERM in between would be taken by the master's handler (a copy, here)
    and lost, leaving the worker serving after the server was told to stop. Until then the default
    action stands: a worker still starting has nothing in flight and simply ends.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def forget_worker(pid: int) -> None:
    """Drop a dead worker's live gauges from the metrics directory (a worker's watcher, or gunicorn's child_exit).

    A file can be gone already: while a server stops, its metrics directory is removed as the last
    workers' watchers clean up after them.
    """
    from prometheus_client import multiprocess

    with contextlib.suppress(FileNotFoundError):
        multiprocess.mark_process_dead(pid)


def _granian_server(options: Options, app: str) -> Any:
    from multiprocessing.connection import wait

    from granian._futures import _new_cbscheduler
    from granian._granian import WorkerSignal, WSGIWorker
    from granian.constants import HTTPModes, Interfaces, TaskImpl
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server.common import WORKERS_METHODS
    from granian.server.mp import MPServer, WorkerProcess
    from granian.wsgi import _callback_wrapper as _wsgi_callback

    class Server(MPServer):
        """Granian's process server, with gunicorn's rules for workers that die (see the module doc)."""

        boot_failed = False

        def _spawn_worker(self, idx: int, target: Any, callback_loader: Any) -> Any:
            worker = super()._spawn_worker(idx, target, callback_loader)
            worker._watcher = lambda: self._watch(worker)
            return worker

        def _watch(self, worker: Any) -> None:
            # Waits for the exit without reaping it: a stopping server joins its workers itself, and two
            # threads joining one process race (one of them sees no child and calls it still alive).
            wait([worker.inner.sentinel])
            forget_worker(worker.inner.pid)
            if worker.interrupt_by_parent:
                return
            worker.inner.join()
            if worker.inner.exitcode == WORKER_BOOT_ERROR:
                self.boot_failed = True  # the worker said why; stop, do not respawn
                self.interrupt_signal = True
            else:
                print(
                    f"sentiment: worker {worker.inner.pid} exited (code {worker.inner.exitcode}); respawning",
                    file=sys.stderr,
                    flush=True,
                )
                self.interrupt_children.append(worker.idx)
            self.main_loop_interrupt.set()

        @staticmethod
        @WorkerProcess.wrap_target
        def _spawn_wsgi_worker(
            worker_id: int, callback: Any, sock: Any, ipc: Any, loop: Any, runtime_mode: Any, runtime_threads: int,
            runtime_blocking_threads: int | None, blocking_threads: int, blocking_threads_idle_timeout: int,
            backpressure: int, task_impl: Any, http_mode: Any, http1_settings: Any, http2_settings: Any,
            websockets: bool, static_path: Any, log_access_fmt: str | None, ssl_ctx: Any, scope_opts: Any,
            metrics: Any,
        ) -> None:  # fmt: skip
            """Granian's WSGI worker (granian.server.mp), with its stop signal handled once serving has begun.

            Granian sets its handlers before it starts serving, and a stop signal that lands in between
            is lost (the worker then serves on until killed). Here the default action stands until
            serving has begun (see load_in_worker), and only then does SIGTERM start the graceful stop.
            """
            stop = WorkerSignal()
            stopped = threading.Event()
            stop.add_cb(stopped.set)
            worker = WSGIWorker(
                worker_id, sock, ipc, runtime_threads, runtime_blocking_threads, blocking_threads,
                blocking_threads_idle_timeout, backpressure, http_mode, http1_settings, http2_settings,
                static_path, *ssl_ctx, metrics,
            )  # fmt: skip
            serve = getattr(worker, WORKERS_METHODS[runtime_mode][(sock[0] or sock[1]).is_uds()])
            wrapped = _wsgi_callback(callback, scope_opts, log_access_fmt)
            serve(_new_cbscheduler(loop, wrapped, impl_asyncio=task_impl == TaskImpl.asyncio), loop, stop)
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
            stopped.wait()

        def shutdown(self, exit_code: int = 0) -> None:
            super().shutdown(WORKER_BOOT_ERROR if self.boot_failed else exit_code)

    host, port = options.host_port
    return Server(
        app,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        http=HTTPModes.http1,
        websockets=False,
        workers=options.workers,
        blocking_threads=options.threads,
        # Idle threads are kept (up to Granian's maximum), and with them their LiteRT interpreters.
        blocking_threads_idle_timeout=600,
        backpressure=options.backpressure,
        http1_settings=HTTP1Settings(header_read_timeout=10_000, keep_alive=True, max_buffer_size=MAX_HEAD_BYTES),
        log_level=LogLevels.warning,
        log_access=options.access_log,
        respawn_failed_workers=True,
        respawn_interval=1.0,
        workers_kill_timeout=options.graceful_timeout,
    )


def command(bind: str, server: str | None = None, workers: int | None = None, threads: int | None = None) -> list[str]:
    """`python -m sentiment serve ...` with this interpreter, for launchers (releases, tests, bench)."""
    argv = [sys.executable, "-m", "sentiment", "serve", "--bind", bind]
    for flag, value in (("--server", server), ("--workers", workers), ("--threads", threads)):
        if value is not None:
            argv += [flag, str(value)]
    return argv
