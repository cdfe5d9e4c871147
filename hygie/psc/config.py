"""Whether Pro Santé Connect is configured, and allauth's app for it (from the environment)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from hygie.lib import psc

PROVIDER_ID = "prosanteconnect"


def enabled() -> bool:
    """The button shows, and the flow answers, only once the practice has its PSC client."""
    return bool(settings.PSC_CLIENT_ID and settings.PSC_CLIENT_SECRET)


def discovery_url() -> str:
    return settings.PSC_DISCOVERY_URL or psc.discovery_url(settings.PSC_ENVIRONMENT)


def form_action_origins() -> tuple[str, ...]:
    """The PSC origins our forms lead to (login button, logout with end-session), for the CSP's
    form-action: nothing while PSC is not configured."""
    if not enabled():
        return ()
    found = {psc.origin(discovery_url())}
    if not settings.PSC_DISCOVERY_URL:
        found.add(psc.AUTHORIZE_ORIGINS[settings.PSC_ENVIRONMENT])
    return tuple(sorted(o for o in found if o))


def allauth_apps() -> list[dict[str, Any]]:
    """SOCIALACCOUNT_PROVIDERS[…]["APPS"], computed at each request so that nothing is kept
    of a client the practice removed."""
    if not enabled():
        return []
    return [{
        "provider_id": PROVIDER_ID,
        "name": "Pro Santé Connect",
        "client_id": settings.PSC_CLIENT_ID,
        "secret": settings.PSC_CLIENT_SECRET,
        "settings": {
            "server_url": discovery_url(),
            "scope": list(psc.SCOPE),
            "auth_params": {"acr_values": psc.ACR},
            "oauth_pkce_enabled": True,
            "uid_field": "SubjectNameID",
            "token_auth_method": "client_secret_basic",
        },
    }]
