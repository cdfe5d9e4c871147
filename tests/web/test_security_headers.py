"""Headers on every response: CSP without inline script, no caching of pages, safe cookies."""

import pytest
from django.conf import settings
from django.urls import reverse

from tests.accounts.flows import submit_password, submit_totp


def _directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.mark.parametrize("url", ["/", "/compte/", "/patients/", "/session/verrouillee/"])
def test_it_sends_a_strict_content_security_policy(personas, login, url):
    r = login(personas.alice).get(url)
    csp = _directives(r["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert "unsafe-inline" not in r["Content-Security-Policy"]
    assert "unsafe-eval" not in r["Content-Security-Policy"]


def test_it_sends_the_policy_on_the_login_page(client, db):
    r = client.get(reverse("account_login"))
    assert "script-src 'self'" in r["Content-Security-Policy"]


@pytest.mark.parametrize("url", ["/", "/patients/", "/compte/"])
def test_it_forbids_caching_of_pages(personas, login, url):
    r = login(personas.alice).get(url)
    assert r["Cache-Control"] == "no-store"


def test_it_forbids_caching_of_redirects_and_errors(personas, login, client):
    assert client.get("/")["Cache-Control"] == "no-store"
    r = login(personas.sophie).get("/compte/utilisateurs/")
    assert r.status_code == 403 and r["Cache-Control"] == "no-store"


def test_it_lets_static_files_be_cached(client, db):
    r = client.get("/static/hygie/hygie.css")
    assert r.status_code == 200
    assert r.get("Cache-Control") != "no-store"


def test_it_sends_the_other_protective_headers(personas, login):
    r = login(personas.alice).get("/")
    assert r["X-Frame-Options"] == "DENY"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Referrer-Policy"] == "same-origin"
    assert r["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in r["Permissions-Policy"]


def test_it_sets_httponly_samesite_cookies(personas, client):
    submit_password(client, "alice")
    submit_totp(client, personas.alice)
    session = client.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    client.get(reverse("account_login"))  # sets the CSRF cookie
    csrf = client.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["httponly"] is True
    assert csrf["samesite"] == "Strict"


def test_it_uses_no_inline_script_in_pages(personas, login):
    # An inline script would be blocked by the policy, so none may be needed.
    page = login(personas.alice).get("/").content.decode()
    for chunk in page.split("<script")[1:]:
        head = chunk.split(">", 1)[0]
        assert "src=" in head or 'type="application/json"' in head, head
