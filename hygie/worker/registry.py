"""The periodic jobs. An app declares its jobs in its `jobs.py`, found the first time the jobs
are asked for (`jobs()`: the worker, `hygie worker --list`), not at start-up: a process that
runs no job (a page server, a restore, a check) does not import what the jobs use:

    from hygie.worker.registry import job

    @job("journal-seal", every=timedelta(minutes=1))
    def seal_journal() -> str:
        return f"{chain.seal()} événements chaînés"

`every` is a timedelta or a function returning one (read from settings at each run). The
function's return value, if any, is kept as the job's last result: counts, never data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

# Longest a run may take before another worker may assume this one died and run the job again.
DEFAULT_LEASE = timedelta(minutes=15)


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable[[], Any]
    every: timedelta | Callable[[], timedelta]
    lease: timedelta = DEFAULT_LEASE
    # Passphrase mode: a job that may read or write patient data waits while the process is
    # locked (hygie.keys.service). True unless the job says otherwise: the safe default.
    needs_keys: bool = True

    def interval(self) -> timedelta:
        return self.every() if callable(self.every) else self.every


REGISTRY: dict[str, JobSpec] = {}
_discovered = False


def jobs() -> dict[str, JobSpec]:
    """Every declared job, by name (each app's `jobs.py` imported once, on the first call)."""
    global _discovered
    if not _discovered:
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("jobs")
        _discovered = True
    return REGISTRY


def job(
    name: str, *, every: timedelta | Callable[[], timedelta], lease: timedelta = DEFAULT_LEASE, needs_keys: bool = True
) -> Callable:
    def register(func: Callable[[], Any]) -> Callable[[], Any]:
        REGISTRY[name] = JobSpec(name, func, every, lease, needs_keys)
        return func

    return register
