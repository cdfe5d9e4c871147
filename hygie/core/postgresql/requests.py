"""Page views on PostgreSQL: read without a transaction, write the journal after (issue 14).

A view answering a safe method runs in autocommit (hygie.core.postgresql.base: two round trips
fewer, BEGIN and COMMIT, and the same snapshots as in a READ COMMITTED transaction). The journal
events it records are held, then written once it has returned, before its response leaves: one
INSERT, committed on its own, for the usual single event ("dossier consulté"); several in one
transaction. Should that write fail, the exception answers the request (an error page), not the
content. Should the view raise, its held events are dropped, as the request's transaction would
have rolled them back.

Should the view try to write anything (or lock, or need a transaction), the statement is refused
before it is sent and the view is run again, once, inside the request's transaction, as every
request was before; nothing of the first run was written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.transaction import TransactionManagementError
from django.http import HttpRequest, HttpResponse

from hygie.core.postgresql.base import DatabaseWrapper, Pending


def run_read_view(conn: DatabaseWrapper, view: Callable[..., Any], again: Callable[[], Any],
                  request: HttpRequest, args: tuple, kwargs: dict) -> HttpResponse:
    try:
        with conn.reading() as reads:
            response = view(request, *args, **kwargs)
    except TransactionManagementError:
        # e.g. select_for_update() outside a transaction: the view needs the request's.
        return again()
    except Exception:
        if not reads.failed:
            raise
        return again()
    if reads.failed:  # the view caught the refusal itself: what it did is not trusted
        return again()
    if reads.pending:
        write_pending(conn.alias, reads.pending)
    return response


def write_pending(alias: str, pending: list[Pending]) -> None:
    """Append the held events in order: one INSERT committed on its own, or one transaction."""
    from hygie.audit import chain

    if len(pending) == 1:
        chain.append(alias, pending[0].at, pending[0].prepared, with_id=False)
        return
    with transaction.atomic(using=alias):
        for item in pending:
            chain.append(alias, item.at, item.prepared, with_id=False)

