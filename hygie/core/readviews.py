"""Pages that only read run outside the request's writing transaction (issue 14).

Every request runs in one transaction (ATOMIC_REQUESTS), so that an action and its journal event
commit together. A view answering a safe method (GET, HEAD, OPTIONS) is not meant to write: its
only write is its journal event ("dossier consulté"). Each database backend of Hygie serves such
views in the cheapest way that keeps "no page without its event" and falls back to the request's
transaction as soon as the view writes anything else:

- SQLite (hygie.core.sqlite.requests): a read snapshot without the database's single write lock,
  so that several processes serve pages at once; the events written after, in a short writing
  transaction;
- PostgreSQL (hygie.core.postgresql.requests): autocommit, no BEGIN nor COMMIT; the events
  written after, in one INSERT. Only for the views marked `read_page`: there a view that writes
  is always run again (its writes are refused before they reach the server, there is no
  snapshot to upgrade), which a view with effects outside the database (an OpenID Connect
  callback that spends its single-use code, say) must not be. The others keep the request's
  transaction.

Django wraps each view in its request transaction in `BaseHandler.make_view_atomic`; `install`
wraps that method (for the WSGI server and the test client alike). Other backends (Django's own,
used by nothing in Hygie) keep Django's behaviour. Each backend's module is imported at the first
request, not at start-up: Hygie's PostgreSQL backend imports psycopg (~50 ms of import), which a
process on SQLite, or one that serves no page (a command, a restore), never needs.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection
from typing import Any

from django.core.handlers.base import BaseHandler
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_django_make_view_atomic = BaseHandler.make_view_atomic


def install() -> None:
    """Called once by hygie.core's AppConfig, whatever the database (checked per request)."""
    BaseHandler.make_view_atomic = make_view_atomic  # type: ignore[method-assign]


def make_view_atomic(self: BaseHandler, view: Callable[..., Any]) -> Callable[..., Any]:
    atomic_view = _django_make_view_atomic(self, view)
    if atomic_view is view or not _only_default_atomic():
        return atomic_view  # no request transaction for this view

    @functools.wraps(view)
    def read_aware_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        conn = connections[DEFAULT_DB_ALIAS]
        if conn.in_atomic_block or getattr(conn, "reads", None) is not None:
            return atomic_view(request, *args, **kwargs)

        def again() -> Any:
            """The view once more, from the start, in the request's transaction."""
            match = getattr(request, "resolver_match", None)
            # The view's name only: a path may carry identifiers.
            logger.info("Vue en lecture qui écrit, rejouée dans la transaction de la requête : %s",
                        match.view_name if match else "?")
            return atomic_view(request, *args, **kwargs)

        runner = _runner(type(conn))
        if runner is not None and request.method in runner[0](view):
            return runner[1](conn, view, again, request, args, kwargs)
        return atomic_view(request, *args, **kwargs)

    return read_aware_view


READ_PAGE = "hygie_read_page"


def _safe_methods(view: Callable[..., Any]) -> Collection[str]:
    return SAFE_METHODS  # SQLite: every view, for its safe methods


def _marked_methods(view: Callable[..., Any]) -> Collection[str]:
    return getattr(view, READ_PAGE, ())  # type: ignore[no-any-return]  # PostgreSQL: marked views only


@functools.cache
def _runner(wrapper: type) -> tuple[Callable[[Callable[..., Any]], Collection[str]], Callable[..., Any]] | None:
    """For a database wrapper class: which methods of a view run as reads, and the backend's
    `run_read_view`; None for a backend that is not Hygie's. The backend's modules are imported
    here, once per class, and only those of the database in use: a wrapper whose vendor is
    "postgresql" has already made its process import psycopg, one on SQLite never will."""
    vendor = getattr(wrapper, "vendor", "")
    if vendor == "sqlite":
        from hygie.core.sqlite import base as sqlite_base
        from hygie.core.sqlite import requests as sqlite_requests

        if issubclass(wrapper, sqlite_base.DatabaseWrapper):
            return _safe_methods, sqlite_requests.run_read_view
    elif vendor == "postgresql":
        from hygie.core.postgresql import base as pg_base
        from hygie.core.postgresql import requests as pg_requests

        if issubclass(wrapper, pg_base.DatabaseWrapper):
            return _marked_methods, pg_requests.run_read_view
    return None


def read_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view whose GET (HEAD, OPTIONS) only reads, its journal events aside, and has no
    effect outside the database: on PostgreSQL it is then served without a transaction (see
    above); its other methods keep the request's transaction. Should it write anyway, it is run
    again from the start in the request's transaction. The mark survives the decorators applied
    over it (functools.wraps copies it)."""
    setattr(view, READ_PAGE, SAFE_METHODS)
    return view


def read_post(view: Callable[..., Any]) -> Callable[..., Any]:
    """`read_page` for a view whose POST only reads too: the patient search is a POST so that no
    name reaches a URL."""
    setattr(view, READ_PAGE, SAFE_METHODS | {"POST"})
    return view


def _only_default_atomic() -> bool:
    return [alias for alias, s in connections.settings.items() if s["ATOMIC_REQUESTS"]] == [DEFAULT_DB_ALIAS]
