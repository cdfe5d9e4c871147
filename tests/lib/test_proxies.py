"""Whom `hygie serve` believes about the client (hygie.lib.proxies), with waitress's own parser."""

from __future__ import annotations

import pytest

from hygie.lib import proxies
from hygie.lib.env import ConfigError

LOCAL = proxies.parse_trusted(["127.0.0.1"])


def _seen(environ: dict, networks=LOCAL) -> dict:
    """What the application behind the gate receives."""
    seen: dict = {}

    def app(env, start_response):
        seen.update(env)
        start_response("200 OK", [])
        return [b""]

    base = {"REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "SERVER_PORT": "8000", "SERVER_NAME": "x"}
    list(proxies.trusting(app, networks)({**base, **environ}, lambda *a: None))
    return seen


def test_it_applies_the_headers_of_the_trusted_proxy():
    seen = _seen({"HTTP_X_FORWARDED_FOR": "192.168.1.23", "HTTP_X_FORWARDED_PROTO": "https"})
    assert seen["REMOTE_ADDR"] == "192.168.1.23"
    assert seen["wsgi.url_scheme"] == "https"


def test_it_keeps_only_the_hop_the_proxy_appended():
    # The client wrote "10.6.6.6" itself; nginx appended the address it saw.
    seen = _seen({"HTTP_X_FORWARDED_FOR": "10.6.6.6, 192.168.1.23", "HTTP_X_FORWARDED_PROTO": "https"})
    assert seen["REMOTE_ADDR"] == "192.168.1.23"


def test_it_drops_every_forwarding_header_from_anyone_else():
    seen = _seen({
        "REMOTE_ADDR": "192.168.1.50",
        "HTTP_X_FORWARDED_FOR": "10.6.6.6",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_FORWARDED_HOST": "ailleurs.example",
        "HTTP_FORWARDED": "for=10.6.6.6;proto=https",
    })
    assert seen["REMOTE_ADDR"] == "192.168.1.50"
    assert seen["wsgi.url_scheme"] == "http"
    assert not any(key.startswith(("HTTP_X_FORWARDED", "HTTP_FORWARDED")) for key in seen)


def test_it_does_not_believe_the_forwarded_host_even_from_the_proxy():
    seen = _seen({"HTTP_HOST": "cabinet.example.fr", "HTTP_X_FORWARDED_HOST": "ailleurs.example"})
    assert seen["HTTP_HOST"] == "cabinet.example.fr"
    assert "HTTP_X_FORWARDED_HOST" not in seen


@pytest.mark.parametrize(
    ("peer", "trusted"),
    [("127.0.0.1", True), ("127.0.0.2", False), ("10.0.0.7", True), ("10.0.1.7", False),
     ("::ffff:127.0.0.1", True), ("[::1]", True), ("", False), ("n'importe quoi", False)],
)
def test_it_trusts_the_listed_addresses_and_networks_only(peer, trusted):
    networks = proxies.parse_trusted(["127.0.0.1", "10.0.0.0/24", "::1"])
    assert proxies.is_trusted(peer, networks) is trusted


@pytest.mark.parametrize("value", ["*", "proxy.local", "0.0.0.0/0", "::/0", "300.1.1.1"])
def test_it_refuses_what_would_trust_anyone_or_is_not_an_address(value):
    with pytest.raises(ConfigError, match="HYGIE_TRUSTED_PROXY"):
        proxies.parse_trusted([value])


def test_it_refuses_an_empty_list():
    with pytest.raises(ConfigError, match="adresse du proxy"):
        proxies.parse_trusted([" "])


def test_it_describes_the_trusted_proxies():
    assert proxies.describe(proxies.parse_trusted(["127.0.0.1", "10.0.0.0/24"])) == "127.0.0.1, 10.0.0.0/24"
