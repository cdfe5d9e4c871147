"""The PSC round trip driven over HTTP: Django's test client for Hygie, `requests` for the
provider (its own pages: the e-CPS step of the sandbox)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import requests
from django.test import Client


def start(client: Client) -> str:
    """Press the PSC button; returns the provider's authorization URL."""
    response = client.post("/auth/psc/connexion/")
    assert response.status_code == 302, response.status_code
    return str(response["Location"])


def authenticate_at_psc(authorize_url: str, national_id: str) -> str:
    """The professional's e-CPS step at the provider; returns Hygie's callback path + query."""
    op = requests.Session()
    response = op.get(authorize_url, allow_redirects=True, timeout=10)
    action = re.search(r'action="([^"]+)"', response.text)
    assert action, response.text[:500]
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(authorize_url))
    response = op.post(origin + action.group(1), data={"identity": national_id}, allow_redirects=False, timeout=10)
    for _ in range(10):
        location = response.headers["Location"]
        if location.startswith("http://testserver/"):
            return location[len("http://testserver"):]
        response = op.get(location if location.startswith("http") else origin + location,
                          allow_redirects=False, timeout=10)
    raise AssertionError("the provider never sent the browser back to Hygie")


def login(client: Client, national_id: str) -> tuple[str, object]:
    """The whole round trip; returns (callback URL, Hygie's answer to it)."""
    callback = authenticate_at_psc(start(client), national_id)
    return callback, client.get(callback)
