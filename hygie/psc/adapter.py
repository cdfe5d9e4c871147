"""allauth's social-account adapter for Hygie: Pro Santé Connect only, linking never creating."""

from __future__ import annotations

from typing import Any

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from django.http import HttpRequest

from hygie.psc import actions, config


class PscSocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any = None) -> bool:
        return False  # an unknown professional gets hygie.psc's page, nothing is created

    def list_apps(self, request: HttpRequest, provider: Any = None, client_id: Any = None) -> list[SocialApp]:
        # Only the client configured in the environment (never a row of the database).
        if provider not in (None, config.PROVIDER_ID):
            return []
        apps = []
        for conf in config.allauth_apps():
            if client_id and conf["client_id"] != client_id:
                continue
            apps.append(SocialApp(provider=config.PROVIDER_ID, **conf))
        return apps

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        # Always ends the flow here: a login of a linked account, or a refusal page.
        raise ImmediateHttpResponse(actions.complete_psc_login(request, sociallogin))

    def on_authentication_error(
        self, request: HttpRequest, provider: Any, error: Any = None, exception: Any = None, extra_context: Any = None
    ) -> None:
        raise ImmediateHttpResponse(actions.refuse(request, actions.reason_of(error, exception)))
