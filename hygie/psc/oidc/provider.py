"""Pro Santé Connect as a provider of django-allauth: its OpenID Connect provider, narrowed.

On top of allauth's openid_connect provider: a nonce in every request (kept in the one-use
state with the PKCE verifier), `acr_values=eidas1` always, and the ID token always verified
(signature against the provider's keys, issuer, audience, expiry, nonce, acr), even though it
came straight from the token endpoint (hygie.psc.oidc.views).

Imported on the provider's first use (hygie.psc.provider, the entry in allauth's registry):
allauth's OAuth2 and OpenID Connect modules import `requests` (with urllib3, ~45 ms of processor
at each start-up) and this one PyJWT's adapter.
"""

from __future__ import annotations

import secrets
from typing import Any

from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode

from hygie.lib import psc
from hygie.psc.config import PROVIDER_ID
from hygie.psc.oidc.views import PscOAuth2Adapter


class ProSanteConnectProvider(OpenIDConnectProvider):
    id = PROVIDER_ID
    name = "Pro Santé Connect"
    # allauth includes `<package>.urls` under /auth/: the login and callback only.
    package = "hygie.psc.oidc"
    oauth2_adapter_class = PscOAuth2Adapter  # type: ignore[assignment]
    pkce_enabled_default = True

    def get_login_url(self, request: HttpRequest, **kwargs: Any) -> str:
        url = reverse("psc_login")
        return f"{url}?{urlencode(kwargs)}" if kwargs else url

    def get_callback_url(self) -> str:
        return reverse("psc_callback")

    def get_oauth2_adapter(self, request: HttpRequest) -> PscOAuth2Adapter:
        return PscOAuth2Adapter(request)

    def get_default_scope(self) -> list[str]:
        return list(psc.SCOPE)

    def get_scope_from_request(self, request: HttpRequest) -> list[str]:
        return list(psc.SCOPE)  # never widened from the query string

    def get_pkce_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_pkce_params()
        if params.get("code_challenge_method") != "S256":
            raise RuntimeError("PKCE S256 is required for Pro Santé Connect")
        return params

    def redirect(
        self, request: HttpRequest, process: Any, next_url: Any = None, data: Any = None, **kwargs: Any
    ) -> Any:
        nonce = secrets.token_urlsafe(32)
        auth_params = dict(kwargs.pop("auth_params", None) or {})
        auth_params.update({"acr_values": psc.ACR, "nonce": nonce})
        return super().redirect(request, process, next_url, data, auth_params=auth_params, nonce=nonce, **kwargs)

