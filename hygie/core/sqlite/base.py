"""Django's SQLite backend, with the writers of one process queued instead of polling.

Every request's transaction starts with BEGIN IMMEDIATE (settings: the write lock is taken at
once, never upgraded from a read, which under WAL fails at once with "database is locked").
While the lock is held, SQLite's busy handler makes each other writer sleep and retry, its sleeps
growing to 100 ms: a writer that arrived early and sleeps long loses the lock, again and again,
to those that arrived after it and retry sooner. Under a burst one request could so wait past the
busy timeout and answer 500 (seen with 2 processes × 8 threads and 16 clients on a loaded
machine). Here the threads of one process wait their turn on a lock of the process, in order of
arrival as the system wakes them, and only one of them at a time polls SQLite: a handful of
processes poll, not every thread of each. The wait stays bounded by the same timeout.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import OperationalError
from django.db.backends.sqlite3 import base

_WRITER = threading.Lock()


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_writer = False

    def _start_transaction_under_autocommit(self) -> None:
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        if not _WRITER.acquire(timeout=timeout):
            raise OperationalError("database is locked")
        self._holds_writer = True
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # not in the stubs
        except BaseException:
            self._release_writer()
            raise

    def _release_writer(self) -> None:
        if self._holds_writer:
            self._holds_writer = False
            _WRITER.release()

    def _commit(self) -> Any:
        try:
            return super()._commit()  # type: ignore[misc]
        finally:
            if self.connection is None or not self.connection.in_transaction:
                self._release_writer()

    def _rollback(self) -> Any:
        try:
            return super()._rollback()  # type: ignore[misc]
        finally:
            if self.connection is None or not self.connection.in_transaction:
                self._release_writer()

    def _close(self) -> Any:
        try:
            return super()._close()  # type: ignore[misc]
        finally:
            self._release_writer()
