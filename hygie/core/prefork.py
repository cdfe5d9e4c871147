"""Several `hygie serve` processes on one listening socket, under a small supervisor.

The parent binds the sockets, forks one waitress server per core and one process for the
background jobs, then only watches them: it holds no thread, no database connection and never
answers a request, so that it can fork again safely when a child dies. Each server child runs
the same waitress, with the same options, as a single-process `hygie serve` (forwarding headers,
request body bound, no access log): one code path on every platform, Windows keeps one process.

The kernel hands each new connection to one of the processes waiting on the shared socket
(a process that wakes up for a connection another one took gets EAGAIN, which waitress ignores).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

# A child that dies this soon after its start, this many times in a row, means the server cannot
# run (port, database, code): the supervisor stops instead of forking in a loop.
QUICK_DEATH_SECONDS = 5.0
QUICK_DEATHS_ALLOWED = 5
STOP_GRACE_SECONDS = 20.0


def can_fork() -> bool:
    return hasattr(os, "fork") and sys.platform != "win32"


def default_processes() -> int:
    """One server process per core this process may use, on Linux; one elsewhere."""
    if not sys.platform.startswith("linux") or not can_fork():
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, cores)


def bind(listen: list[tuple[int, int, int, tuple[object, ...]]], backlog: int = 1024) -> list[socket.socket]:
    """Non-blocking listening sockets for waitress's resolved `listen` addresses."""
    sockets: list[socket.socket] = []
    try:
        for family, socktype, proto, sockaddr in listen:
            sock = socket.socket(family, socktype, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(sockaddr)
            sock.listen(backlog)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


@dataclass
class Child:
    role: str  # "serve" or "jobs"
    started: float


@dataclass
class Supervisor:
    """Forks `processes` copies of `serve` and, if given, one `jobs`; restarts a child that dies."""

    processes: int
    serve: Callable[[], None]
    jobs: Callable[[], None] | None
    before_fork: Callable[[], None]
    stderr: TextIO
    children: dict[int, Child] = field(default_factory=dict)
    stopping: bool = False
    quick_deaths: int = 0

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._on_stop) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
        try:
            for _ in range(self.processes):
                self._spawn("serve")
            if self.jobs is not None:
                self._spawn("jobs")
            return self._watch()
        finally:
            self._stop_children()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_stop(self, signum: int, frame: object) -> None:
        self.stopping = True
        for pid in list(self.children):
            _kill(pid, signal.SIGTERM)

    def _spawn(self, role: str) -> None:
        self.before_fork()
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the command
            code = 1
            try:
                for sig in (signal.SIGTERM, signal.SIGHUP):
                    signal.signal(sig, signal.SIG_DFL)
                _die_with(parent)
                # Ctrl+C reaches the whole process group: the supervisor alone decides.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                (self.serve if role == "serve" else self.jobs)()  # type: ignore[misc]
                code = 0
            except BaseException:  # noqa: BLE001 - report and leave, whatever happened
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.children[pid] = Child(role, time.monotonic())

    def _watch(self) -> int:
        while self.children and not self.stopping:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            child = self.children.pop(pid, None)
            if child is None or self.stopping:
                continue
            lived = time.monotonic() - child.started
            self.quick_deaths = self.quick_deaths + 1 if lived < QUICK_DEATH_SECONDS else 0
            if self.quick_deaths >= QUICK_DEATHS_ALLOWED:
                self.stderr.write(
                    "Les processus du serveur s'arrêtent dès leur démarrage : arrêt de Hygie "
                    "(voir les messages ci-dessus).\n"
                )
                return 1
            what = "de service" if child.role == "serve" else "des tâches de fond"
            self.stderr.write(f"Un processus {what} s'est arrêté (état {status}) : relancé.\n")
            time.sleep(min(self.quick_deaths, 5) * 0.5)
            if not self.stopping:
                self._spawn(child.role)
        return 0

    def _stop_children(self) -> None:
        for pid in list(self.children):
            _kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while self.children and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.05)
                continue
            self.children.pop(pid, None)
        for pid in list(self.children):
            _kill(pid, signal.SIGKILL)
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        self.children.clear()


def _die_with(parent: int) -> None:
    """Linux: SIGTERM to this child when the supervisor dies, even by kill -9 (otherwise the
    children would go on serving on the inherited socket, unsupervised, and a restarted server
    could not bind its port)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the supervisor died before the prctl
        os.kill(os.getpid(), signal.SIGTERM)


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
