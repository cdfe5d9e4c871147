"""Included by allauth under /auth/ (the provider's package): PSC's login and callback.

The views are imported when one of them answers, not with the URL patterns: they need allauth's
OAuth2 modules, which import `requests` and urllib3 (~45 ms of processor), and every `hygie`
command that runs Django's system checks loads the URL patterns (hygie.psc.provider).
"""

from allauth.account.internal.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import path


@login_not_required
def login(request: HttpRequest) -> HttpResponse:
    from hygie.psc.oidc import views

    return views.login(request)


@login_not_required
def callback(request: HttpRequest) -> HttpResponse:
    from hygie.psc.oidc import views

    return views.callback(request)


urlpatterns = [
    path("psc/connexion/", login, name="psc_login"),
    path("psc/retour/", callback, name="psc_callback"),
]
