"""`hygie serve`: refusals before serving, then a real server answering the login page."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from hygie.core import startup
from hygie.lib import keyfile, proxies

ROOT = Path(__file__).resolve().parents[2]
ANY_ADDRESS = "0.0.0.0"  # noqa: S104 (what a user would type to open Hygie to the network)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_it_serves_loopback_without_https(host):
    startup.check_bind(host, https=False, allow_insecure_lan=False)


@pytest.mark.parametrize(("host", "shown"), [
    ("127.0.0.1", "http://localhost:8000/"), ("::1", "http://localhost:8000/"), ("localhost", "http://localhost:8000/"),
    ("192.168.1.20", "http://192.168.1.20:8000/"), ("fd00::2", "http://[fd00::2]:8000/"),
])
def test_it_prints_localhost_for_a_loopback_address(host, shown):
    assert startup.shown_url(host, 8000) == shown


@pytest.mark.parametrize("host", [ANY_ADDRESS, "192.168.1.20", "cabinet.local", "::"])
def test_it_refuses_a_network_address_without_https(host):
    with pytest.raises(startup.StartupError, match="docs/operations.md"):
        startup.check_bind(host, https=False, allow_insecure_lan=False)


def test_it_serves_the_network_behind_https_or_when_told_to():
    startup.check_bind(ANY_ADDRESS, https=True, allow_insecure_lan=False)
    startup.check_bind(ANY_ADDRESS, https=False, allow_insecure_lan=True)


def test_it_refuses_to_start_in_production_without_keys():
    with pytest.raises(startup.StartupError) as exc:
        startup.check_keys(
            env="production", keys_missing=True, keys_error="Fichier de clés introuvable : x.", secret_from_env=False
        )
    assert "Fichier de clés introuvable" in str(exc.value) and "hygie init" in str(exc.value)


def test_it_starts_without_key_file_when_the_secret_comes_from_the_environment_or_outside_production():
    with pytest.raises(startup.StartupError):
        startup.check_keys(env="production", keys_missing=True, keys_error="", secret_from_env=True)
    startup.check_keys(env="development", keys_missing=True, keys_error="", secret_from_env=False)
    startup.check_keys(env="production", keys_missing=False, keys_error="", secret_from_env=False)


@pytest.fixture
def no_waitress(monkeypatch):
    import waitress

    def fail(*args, **kwargs):
        raise AssertionError("the server must not start")

    monkeypatch.setattr(waitress, "serve", fail)


def test_it_exits_with_code_2_on_a_network_address(db, no_waitress):
    with pytest.raises(CommandError, match="sans HTTPS") as exc:
        call_command("serve", "--host", ANY_ADDRESS)
    assert exc.value.returncode == 2


def test_it_exits_with_code_2_without_keys_in_production(db, no_waitress, settings, monkeypatch):
    monkeypatch.delenv("HYGIE_SECRET_KEY", raising=False)
    settings.HYGIE_ENV = "production"
    settings.HYGIE_KEYS_MISSING = True
    settings.HYGIE_KEYS_ERROR = "Fichier de clés introuvable : /nulle/part."
    with pytest.raises(CommandError, match="introuvable") as exc:
        call_command("serve")
    assert exc.value.returncode == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_it_really_serves_the_login_page(tmp_path):
    keyfile.create(tmp_path / "keys.json")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYGIE_")}
    env.update(HYGIE_ENV="production", HYGIE_DATA_DIR=str(tmp_path / "var"), HYGIE_KEY_FILE=str(tmp_path / "keys.json"))
    env["HYGIE_EMAIL_BACKEND"] = ""  # SMTP: production refuses a backend that delivers nothing
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hygie.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/login/", timeout=5) as response:
                    status = response.status
                    body = response.read().decode()
                break
            except OSError:
                time.sleep(0.3)
        assert status == 200, proc.poll()
        assert "csrfmiddlewaretoken" in body
    finally:
        proc.terminate()
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    # localhost, not the IP address: browsers refuse security keys on an IP address.
    assert f"Hygie est disponible sur http://localhost:{port}/" in out
    assert "127.0.0.1" not in out
    # No access log: a URL can carry an identifier, it never reaches a log line.
    assert "/auth/login/" not in out + err


def test_it_warns_when_the_proxy_settings_cannot_work_together():
    loop = startup.proxy_warnings(https=True, behind_proxy=False, ssl_redirect=True)
    assert len(loop) == 1 and "HYGIE_BEHIND_PROXY=true" in loop[0]
    no_https = startup.proxy_warnings(https=False, behind_proxy=True, ssl_redirect=True)
    assert len(no_https) == 1 and "https://" in no_https[0]
    assert startup.proxy_warnings(https=True, behind_proxy=True, ssl_redirect=True) == []
    assert startup.proxy_warnings(https=False, behind_proxy=False, ssl_redirect=False) == []


def test_it_lets_waitress_drop_forwarding_headers_when_not_behind_a_proxy(settings):
    from hygie.core.management.commands.serve import wsgi_app_and_proxy_options

    def app(environ, start_response):
        return []

    settings.BEHIND_PROXY = False
    assert wsgi_app_and_proxy_options(app) == (app, {"clear_untrusted_proxy_headers": True})
    settings.BEHIND_PROXY = True
    settings.TRUSTED_PROXIES = proxies.parse_trusted(["127.0.0.1"])
    wrapped, options = wsgi_app_and_proxy_options(app)
    assert wrapped is not app and options == {"clear_untrusted_proxy_headers": False}
