"""The OpenID Connect exchange with Pro Santé Connect, and the checks of its ID token.

Every check refuses with a `Refused` carrying a stable reason (journaled, explained in French by
hygie.psc.adapter); the token itself is never written anywhere but the session (for the
end-session call, if the practice chose it).

PyJWT (and the part of cryptography it loads, ~15 ms of import) is imported by the two methods
that check a token, not with this module: the URL patterns import it, and every `hygie` command
that runs Django's system checks loads them.
"""

from __future__ import annotations

import json
from typing import Any

from allauth.account.internal.decorators import login_not_required
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialApp, SocialLogin, SocialToken
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from allauth.utils import build_absolute_uri
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse

from hygie.lib import psc
from hygie.psc import config

# What the callback leaves on the request for hygie.psc.actions (the verified acr, the raw
# ID token for the end-session call).
VERIFIED = "_hygie_psc_verified"
# Clock skew tolerated on exp/iat/nbf, seconds.
LEEWAY = 30
ALGORITHMS = ["RS256", "PS256", "ES256"]  # asymmetric only: never "none", never a shared secret
DISCOVERY_CACHE_SECONDS = 3600


class Refused(OAuth2Error):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PscOAuth2Adapter(OpenIDConnectOAuth2Adapter):
    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request, config.PROVIDER_ID)
        self.state: dict[str, Any] | None = None

    @property
    def openid_config(self) -> dict[str, Any]:
        if not hasattr(self, "_openid_config"):
            url = config.discovery_url()
            key = f"psc:discovery:{url}"
            found = cache.get(key)
            if found is None:
                with get_adapter().get_requests_session() as sess:
                    resp = sess.get(url, timeout=10)
                    resp.raise_for_status()
                    found = resp.json()
                cache.set(key, found, DISCOVERY_CACHE_SECONDS)
            self._openid_config = found
        return self._openid_config  # type: ignore[no-any-return]

    def get_callback_url(self, request: HttpRequest, app: SocialApp) -> str:
        return build_absolute_uri(request, reverse("psc_callback"))

    def complete_login(self, request: HttpRequest, app: SocialApp, token: SocialToken, **kwargs: Any) -> SocialLogin:
        raw = kwargs["response"].get("id_token")
        if not raw:
            raise Refused("id_token")
        claims = self._verify(app, raw)
        userinfo = self._fetch_user_info(token.token)
        if userinfo.get("sub") != claims.get("sub"):
            raise Refused("userinfo")
        setattr(request, VERIFIED, {"acr": claims["acr"], "id_token": raw})
        return self.get_provider().sociallogin_from_response(request, {"userinfo": userinfo, "id_token": claims})

    def _verify(self, app: SocialApp, raw: str) -> dict[str, Any]:
        import jwt

        conf = self.openid_config
        try:
            header = jwt.get_unverified_header(raw)
            key = self._key(conf["jwks_uri"], header.get("kid"), header.get("alg"))
            claims: dict[str, Any] = jwt.decode(
                raw, key=key, algorithms=ALGORITHMS, audience=app.client_id, issuer=conf["issuer"],
                leeway=LEEWAY, options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"]},
            )
        except jwt.ExpiredSignatureError:
            raise Refused("expired") from None
        except jwt.InvalidAudienceError:
            raise Refused("audience") from None
        except jwt.InvalidIssuerError:
            raise Refused("issuer") from None
        except jwt.InvalidSignatureError:
            raise Refused("signature") from None
        except jwt.PyJWTError:
            raise Refused("invalid") from None
        expected = (self.state or {}).get("nonce")
        if not expected or claims.get("nonce") != expected:
            raise Refused("nonce")
        if not psc.strong_enough(claims.get("acr")):
            raise Refused("acr")
        return claims

    def _key(self, jwks_uri: str, kid: Any, alg: Any) -> Any:
        import jwt

        if alg not in ALGORITHMS:
            raise Refused("signature")
        with get_adapter().get_requests_session() as sess:
            resp = sess.get(jwks_uri, timeout=10)
            resp.raise_for_status()
            keys = resp.json().get("keys", [])
        for jwk in keys:
            if jwk.get("kid") == kid and jwk.get("use", "sig") == "sig":
                return jwt.PyJWK.from_json(json.dumps(jwk), algorithm=alg).key
        raise Refused("signature")


class PscCallbackView(OAuth2CallbackView):
    """allauth's callback (state checked and consumed once), keeping the state for the nonce."""

    def _get_state(self, request: HttpRequest, provider: Any) -> Any:
        state, resp = super()._get_state(request, provider)
        if isinstance(self.adapter, PscOAuth2Adapter):
            self.adapter.state = state
        return state, resp


@login_not_required
def login(request: HttpRequest) -> HttpResponse:
    if not config.enabled():
        raise Http404
    return OAuth2LoginView.adapter_view(PscOAuth2Adapter(request))(request)  # type: ignore[no-any-return]


@login_not_required
def callback(request: HttpRequest) -> HttpResponse:
    if not config.enabled():
        raise Http404
    return PscCallbackView.adapter_view(PscOAuth2Adapter(request))(request)  # type: ignore[no-any-return]
