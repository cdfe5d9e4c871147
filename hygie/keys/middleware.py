"""Passphrase mode: a locked server shows its unlock page, and nothing else.

Placed after CsrfViewMiddleware (the unlock form needs its token and cookie) and before
AuthenticationMiddleware: while locked, no user, session guard or view runs, so no page can
read patient data — and none could decrypt it anyway (hygie.keys.service raises KeysLocked).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from hygie.keys import service

# Static files carry no data; the unlock page itself handles GET and POST.
_ALWAYS_OPEN = ("/static/", "/favicon.ico")


class KeysLockedMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(_ALWAYS_OPEN) or not service.is_locked():
            return self.get_response(request)
        if request.path == reverse("keys_unlock"):
            return self.get_response(request)
        from hygie.keys.views import locked_page

        return locked_page(request)
