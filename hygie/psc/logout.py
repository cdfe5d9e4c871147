"""Logout that also ends the Pro Santé Connect session (HYGIE_PSC_END_SESSION)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from hygie.psc import config


def end_session_url(request: HttpRequest) -> str | None:
    """PSC's end-session URL for this session, or None (Hygie's own logout only). Called before
    the session is cleared; the discovery document is the cached one."""
    if not settings.PSC_END_SESSION or not config.enabled():
        return None
    from hygie.psc.actions import ID_TOKEN_HINT
    from hygie.psc.oidc.views import PscOAuth2Adapter

    hint = request.session.get(ID_TOKEN_HINT)
    if not hint:
        return None
    try:
        endpoint = PscOAuth2Adapter(request).openid_config.get("end_session_endpoint")
    except Exception:  # PSC unreachable: logging out of Hygie must still work
        return None
    if not endpoint:
        return None
    query = urlencode({
        "id_token_hint": hint,
        "client_id": settings.PSC_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(reverse(settings.LOGOUT_REDIRECT_URL)),
    })
    return f"{endpoint}?{query}"
