"""Enforce « Isoler Hygie » on every request (docs/incidents.md). After the session guard
(which already ended each session whose epoch the switch bumped): here, whatever session is left
— the one admin allowed at the machine, or one that slipped in by another sign-in path — reaches
the incident pages and the session flow only, and no attachment leaves (downloads, exports,
archives), whatever view would send it.

The lockdown is one row in the shared database, read on every request (with the signed-in user,
in the same query: hygie.incidents.lockdown.for_request): two server processes see the switch at
once.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from hygie.incidents import actions
from hygie.incidents import lockdown as state

_OPEN = ("/static/", "/favicon.ico", "/i18n/")
# Attachments the allowed admin may take during a lockdown: the fiche réflexe holds no patient data.
_ATTACHMENTS_ALLOWED = ("incident_fiche_pdf",)


def _is_attachment(response: HttpResponse) -> bool:
    return str(response.get("Content-Disposition", "")).lower().startswith("attachment")


class LockdownMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(_OPEN):
            return self.get_response(request)
        row = state.for_request(request)
        if row is None:
            return self.get_response(request)
        request.hygie_lockdown = row  # type: ignore[attr-defined]
        user = request.user
        if user.is_authenticated:
            if not state.may_sign_in(user, row):
                actions.refused(user, "session")
                logout(request)
                return redirect(reverse("account_login"))
            allowed = (
                reverse("incidents"), reverse("account_logout"), reverse("account_reauthenticate"),
                reverse("mfa_reauthenticate"), reverse("session_locked"), reverse("session_heartbeat"),
                reverse("session_lock_now"),
            )
            if not request.path.startswith(allowed):
                if request.method in ("GET", "HEAD"):
                    return redirect(reverse("incidents"))
                actions.refused(user, "page")
                return render(request, "incidents/refused.html", {"lockdown": row}, status=423)
        response = self.get_response(request)
        if _is_attachment(response):
            match = getattr(request, "resolver_match", None)
            if not (match and match.view_name in _ATTACHMENTS_ALLOWED):
                actions.refused(user, "download")
                return render(request, "incidents/refused.html", {"lockdown": row}, status=423)
        return response
