"""allauth's password reset by e-mail, closed unless HYGIE_PASSWORD_RESET_BY_EMAIL is on.

Closed by default: the administrator sets a provisional password (« Mot de passe oublié :
demandez à l'administrateur »). When a practice turns it on, each request and each completion
is journaled (hygie.accounts.actions), the link lasts PASSWORD_RESET_TIMEOUT and works once
(Django's token covers the password hash and the last login), and the second factor is still
asked at the next login. Included before allauth's URLs so that these patterns answer first.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.account import views as allauth_views
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path, re_path

REQUEST_JOURNALED = "_hygie_reset_request_journaled"


def _when_enabled(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.PASSWORD_RESET_BY_EMAIL:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


@_when_enabled
def password_reset(request: HttpRequest) -> HttpResponse:
    response = allauth_views.password_reset(request)
    if request.method == "POST" and response.status_code == 302 and not getattr(request, REQUEST_JOURNALED, False):
        # A valid address that matches no account: journaled too, without the address.
        from hygie.accounts.actions import password_reset_requested

        password_reset_requested(user=None)
    return response


urlpatterns = [
    path("password/reset/", password_reset, name="account_reset_password"),
    path("password/reset/done/", _when_enabled(allauth_views.password_reset_done), name="account_reset_password_done"),
    path(
        "password/reset/key/done/",
        _when_enabled(allauth_views.password_reset_from_key_done),
        name="account_reset_password_from_key_done",
    ),
    re_path(
        r"^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
        _when_enabled(allauth_views.password_reset_from_key),
        name="account_reset_password_from_key",
    ),
]
