"""Whom `hygie serve` believes about the client: only the TLS reverse proxy named in the settings.

Behind a proxy, the TCP peer of every request is the proxy; the real client address and the
scheme the browser used travel in `X-Forwarded-For` and `X-Forwarded-Proto`. Anyone can send
those headers, so they are believed only when the peer is a trusted proxy (HYGIE_TRUSTED_PROXY):

- from a trusted proxy, waitress's own parser applies them: `REMOTE_ADDR` becomes the address
  the proxy saw (the last hop of X-Forwarded-For, the one the proxy appended: what a client put
  before it is ignored) and `wsgi.url_scheme` the scheme the browser used;
- from anyone else, every forwarding header is dropped before Django sees the request.

Django then needs no proxy setting at all (no SECURE_PROXY_SSL_HEADER, no USE_X_FORWARDED_HOST):
`request.is_secure()` and `REMOTE_ADDR` are already right, and so are the journal, the
per-address login throttle, the HTTPS redirect and HSTS. Pure Python, no Django.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from hygie.lib.env import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# The only headers a trusted proxy speaks for. Not X-Forwarded-Host / -Port / Forwarded: the
# Host header reaches Hygie as the browser sent it (Caddy keeps it, nginx is told to), and a
# client header that a proxy passes through unchanged must not become the practice's address.
TRUSTED_HEADERS = frozenset({"x-forwarded-for", "x-forwarded-proto"})
# One proxy in front of Hygie: the last X-Forwarded-For hop is the one it appended.
TRUSTED_HOPS = 1


def parse_trusted(values: Iterable[str], *, name: str = "HYGIE_TRUSTED_PROXY") -> tuple[Network, ...]:
    """Addresses or networks (CIDR) of the trusted proxies. Refuses what would trust anyone."""
    networks: list[Network] = []
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        try:
            network = ipaddress.ip_network(value.strip("[]"), strict=False)
        except ValueError:
            raise ConfigError(
                f"{name} : « {value} » n'est pas une adresse IP ni un réseau (ex. 127.0.0.1 ou 10.0.0.0/24)."
            ) from None
        if network.prefixlen == 0:
            raise ConfigError(
                f"{name} : « {value} » ferait confiance à n'importe quelle adresse ; "
                "indiquez l'adresse du proxy."
            )
        networks.append(network)
    if not networks:
        raise ConfigError(f"{name} doit indiquer l'adresse du proxy (ex. 127.0.0.1).")
    return tuple(networks)


def is_trusted(peer: str, networks: Iterable[Network]) -> bool:
    """True if the TCP peer `peer` is one of the trusted proxies."""
    try:
        address = ipaddress.ip_address(peer.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def trusting(app: WSGIApp, networks: tuple[Network, ...]) -> WSGIApp:
    """Wrap `app`: forwarding headers applied from a trusted proxy, dropped from anyone else.

    Serve the result with waitress's own handling off (`clear_untrusted_proxy_headers=False`,
    no `trusted_proxy`): this gate takes its place, with the same parser, for a list of proxies
    (waitress itself trusts one address or everyone)."""
    from waitress.proxy_headers import proxy_headers_middleware

    from_proxy: WSGIApp = proxy_headers_middleware(
        app,
        trusted_proxy="*",  # the gate below has already checked the peer
        trusted_proxy_count=TRUSTED_HOPS,
        trusted_proxy_headers=set(TRUSTED_HEADERS),
        clear_untrusted=True,
    )
    from_anyone: WSGIApp = proxy_headers_middleware(app, trusted_proxy=None, clear_untrusted=True)

    def gate(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        peer = str(environ.get("REMOTE_ADDR") or "")
        chosen = from_proxy if is_trusted(peer, networks) else from_anyone
        return chosen(environ, start_response)

    return gate


def describe(networks: Iterable[Network]) -> str:
    """For the start-up line: « 127.0.0.1 », « 10.0.0.0/24, ::1 »."""
    return ", ".join(_shown(n) for n in networks)


def _shown(network: Network) -> str:
    single = network.prefixlen == network.max_prefixlen
    return str(network.network_address) if single else str(network)
