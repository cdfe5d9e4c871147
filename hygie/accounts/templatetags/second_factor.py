from __future__ import annotations

import ipaddress
from typing import Any

from allauth.mfa.models import Authenticator
from django import template
from django.http.request import split_domain_port
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def has_security_key(user: Any) -> bool:
    """The account has at least one security key (WebAuthn): only then is « Utiliser une clé de
    sécurité » offered at login; to anyone else the button would lead nowhere."""
    if user is None or not getattr(user, "pk", None):
        return False
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.WEBAUTHN).exists()


@register.simple_tag(takes_context=True)
def security_key_host_problem(context: template.Context) -> str:
    """Why security keys cannot work at this address, or "". WebAuthn names the site by its host
    name: browsers refuse an IP address (« invalid domain »), so http://127.0.0.1:8000 fails where
    http://localhost:8000 works, and a practice's server needs a host name (docs/operations.md)."""
    request = context.get("request")
    if request is None:
        return ""
    host, port = split_domain_port(request.get_host())
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return ""
    if address.is_loopback:
        port = port or request.get_port()
        return _(
            "Les clés de sécurité ne fonctionnent pas sur une adresse IP : ouvrez Hygie par "
            "http://localhost:%(port)s/ pour en ajouter ou en utiliser une."
        ) % {"port": port}
    return _(
        "Les clés de sécurité ne fonctionnent pas sur une adresse IP : demandez à l'administrateur "
        "l'adresse de Hygie par son nom d'hôte (voir la documentation d'exploitation)."
    )
