"""allauth's social-account pages are never offered: accounts are linked by the administrator
(hygie.psc), never by their user, and nothing is created from Pro Santé Connect."""

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import re_path


def closed(request: HttpRequest, rest: str = "") -> HttpResponse:
    raise Http404


urlpatterns = [re_path(r"^(?P<rest>.*)$", closed)]
