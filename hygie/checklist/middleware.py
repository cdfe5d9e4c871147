"""Catch a download that leaves no trace: a response sent as an attachment (a PDF, a document,
a kit) during a request that wrote no journal event at all. Every export of Hygie journals itself
(REQUIREMENTS LOG-1); one that does not is a bug, and the checklist's "exports journaled" item
says so, with the page's name, until a year has passed.

It sits after RequestContextMiddleware (it needs the request id the journal stamps on every
event) and costs one query, on the indexed time of events, only on attachment responses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from hygie.audit import context
from hygie.audit.models import Event


def is_attachment(response: HttpResponse) -> bool:
    # An inline document (hygie.clinical: opened in the browser) leaves the vault just the same.
    return str(response.get("Content-Disposition", "")).lower().startswith(("attachment", "inline"))


class ExportWatchMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A second of margin for clocks of several app servers writing the same journal.
        started = timezone.now() - timedelta(seconds=1)
        response = self.get_response(request)
        if response.status_code == 200 and is_attachment(response):
            request_id = context.current().request_id
            if not Event.objects.filter(at__gte=started, request_id=request_id).exists():
                from hygie.checklist import actions

                match = getattr(request, "resolver_match", None)
                view = (match.view_name if match else "") or request.path.split("?")[0][:80]
                user = getattr(request, "user", None)
                actions.flag_unjournaled_export(actor=user, view=view)
        return response
