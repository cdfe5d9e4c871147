from __future__ import annotations

import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from hygie.access.records import OutOfScope
from hygie.audit import context, journal
from hygie.audit.events import Ev, Outcome
from hygie.web.csp import PERMISSIONS_POLICY, policy


class RequestContextMiddleware:
    """Give each request an id and remember the client address, for the journal."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = uuid.uuid4().hex
        ip = request.META.get("REMOTE_ADDR") or None
        token = context.set_context(context.RequestContext(request_id=request_id, ip=ip, channel="web"))
        try:
            response = self.get_response(request)
        finally:
            context.reset_context(token)
        response["X-Request-Id"] = request_id
        return response


class SecurityHeadersMiddleware:
    """CSP and friends on every response; no-store on every page that may show patient data."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        from hygie.psc.config import form_action_origins

        response.setdefault("Content-Security-Policy", policy(form_action_origins()))
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if not request.path.startswith("/static/"):
            # Pages are never kept by the browser or a proxy: "back" after logout shows nothing.
            response["Cache-Control"] = "no-store"
        return response


class OutOfScopeJournalMiddleware:
    """Journal a request for an existing patient's page outside the user's scope.

    The access module answers it with a 404 (hygie.access.records.OutOfScope), which rolls the
    request's transaction back: the event is written here, after that, in its own transaction.
    It names the object and the patient by internal ids only; the alerts count them per user
    (hygie.audit.alerts, "dossiers hors périmètre demandés").
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, OutOfScope):
            journal.record(
                Ev.OUT_OF_SCOPE, actor=request.user, target=exception.target, outcome=Outcome.DENIED,
                details={"method": request.method},
            )
        # None: Django answers the 404 as usual.
