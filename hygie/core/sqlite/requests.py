"""Page views on SQLite: read in a snapshot, write the journal after (issue 14).

Every request runs in one transaction (ATOMIC_REQUESTS). On SQLite a writing transaction holds
the database's single write lock from its BEGIN IMMEDIATE: if page views did too, the views of
two processes (`hygie serve`, one per core) could never run at once. So a view answering a safe
method (GET, HEAD, OPTIONS) runs in a DEFERRED transaction instead (hygie.core.sqlite.base:
a read snapshot, no lock), and the journal events it records ("dossier consulté") wait in
memory. Once the view has returned and its snapshot has ended, they are written and sealed into
the chain in one short IMMEDIATE transaction, before the response leaves the view: a page is
never shown without its event. Should that write fail, the exception answers the request (an
error page), not the content.

A page view is not meant to write anything else. Should it, its first writing statement turns
the transaction into a writing one and its pending events are written in that same transaction,
before the commit. Under WAL that turn fails at once when another writer holds the lock or has
committed since the snapshot began: the view is then run again, once, in an IMMEDIATE
transaction, as every request was before. Views answering other methods keep IMMEDIATE from
the start (they may touch the outside world: e-mail, object storage; they are never run twice).

Dispatched by hygie.core.readviews (PostgreSQL has its own: hygie.core.postgresql.requests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from hygie.core.sqlite.base import DatabaseWrapper, ReadState


def run_read_view(conn: DatabaseWrapper, view: Callable[..., Any], again: Callable[[], Any],
                  request: HttpRequest, args: tuple, kwargs: dict) -> HttpResponse:
    alias = conn.alias
    try:
        with conn.reading() as reads:
            with transaction.atomic(using=alias):
                response = view(request, *args, **kwargs)
                if reads.upgraded and not reads.failed:
                    # The view wrote: its events join the same transaction, before the commit.
                    write_pending(alias, reads)
    except Exception:
        if not reads.failed:
            raise
        return again()
    if reads.failed:  # the view caught the refusal itself: what it did is not trusted
        return again()
    if reads.pending:
        with transaction.atomic(using=alias):
            write_pending(alias, reads)
    return response


def write_pending(alias: str, reads: ReadState) -> None:
    """Append the held events in order, inside the caller's writing transaction."""
    from hygie.audit import chain

    pending, reads.pending = reads.pending, []
    for item in pending:
        chain.append(alias, item.at, item.prepared)

