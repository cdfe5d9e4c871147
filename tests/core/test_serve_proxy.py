"""`hygie serve` behind a real TLS reverse proxy: Debian's Caddy and nginx, each configured with
the very snippet of docs/operations.md (only the name, the ports and the certificate change).

Through the proxy: HTTPS pages load without a redirect loop and carry HSTS; the journal records
the address of the client (not the proxy's, not one the client forged in X-Forwarded-For); the
login throttle counts per client address. Straight to hygie from an address that is not the
trusted proxy: forwarding headers are not believed. Everything listens on loopback only; clients
connect from other loopback addresses (127.0.0.x) to be told apart.
"""

from __future__ import annotations

import datetime
import html
import http.client
import http.cookies
import ipaddress
import os
import re
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hygie.accounts import throttle
from hygie.audit.events import Ev
from hygie.lib import keyfile
from tests.core.test_serve import ROOT, _free_port

DOC = ROOT / "docs" / "operations.md"
HSTS = "max-age=31536000"
FORGED = "10.6.6.6"  # what a client claims in X-Forwarded-For
REFUSED = "Trop de tentatives"
WRONG = "L'identifiant ou le mot de passe est incorrect"


def _snippet(info: str) -> str:
    found = re.search(rf"^```{info}\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)
    assert found, f"docs/operations.md has no ```{info} block"
    return found.group(1)


def _substitute(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert old in text, f"the documented snippet no longer has {old!r}: update this test"
        text = text.replace(old, new)
    return text


def _wait_listening(port: int, proc: subprocess.Popen, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} stopped ({proc.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{what} does not listen on {port}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, trusted by the test clients only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class Hygie:
    port: int
    database: Path


@dataclass
class Proxy:
    name: str
    port: int
    cafile: Path
    log: Path
    http_port: int  # the proxy's HTTP to HTTPS redirect (port 80 in production), on a free port


@pytest.fixture(scope="module")
def hygie(tmp_path_factory):
    """A real `hygie serve` behind a proxy (default trusted proxy: 127.0.0.1), own data dir."""
    tmp = tmp_path_factory.mktemp("hygie-proxy")
    keyfile.create(tmp / "keys.json")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYGIE_")}
    env.update(
        HYGIE_ENV="production",
        HYGIE_DATA_DIR=str(tmp / "var"),
        HYGIE_KEY_FILE=str(tmp / "keys.json"),
        HYGIE_BASE_URL="https://127.0.0.1",
        HYGIE_BEHIND_PROXY="true",
    )
    port = _free_port()
    log = (tmp / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hygie.cli", "serve", "--port", str(port), "--no-worker"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    try:
        _wait_listening(port, proc, "hygie serve")
        yield Hygie(port=port, database=tmp / "var" / "hygie.sqlite3")
    finally:
        _stop(proc)
        log.close()
    output = (tmp / "serve.log").read_text()
    assert "Proxy de confiance : 127.0.0.1" in output


def _start_caddy(caddy: str, tmp: Path, hygie_port: int, cert: Path, key: Path) -> tuple[subprocess.Popen, Proxy]:
    port, http_port = _free_port(), _free_port()
    site = _substitute(
        _snippet("caddyfile"),
        {
            "cabinet.example.fr {": f"https://127.0.0.1:{port} {{\n    tls {cert} {key}",
            "127.0.0.1:8000": f"127.0.0.1:{hygie_port}",
        },
    )
    # Test-only global options: no admin port, its HTTP redirect on a free port, nothing outside tmp.
    (tmp / "Caddyfile").write_text(
        f"{{\n    admin off\n    http_port {http_port}\n    skip_install_trust\n"
        f"    storage file_system {tmp / 'data'}\n}}\n{site}"
    )
    env = dict(os.environ, HOME=str(tmp), XDG_DATA_HOME=str(tmp / "data"), XDG_CONFIG_HOME=str(tmp / "config"))
    log = (tmp / "caddy.log").open("w")
    proc = subprocess.Popen(
        [caddy, "run", "--config", str(tmp / "Caddyfile"), "--adapter", "caddyfile"],
        cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()
    return proc, Proxy("caddy", port, cert, tmp / "caddy.log", http_port=http_port)


def _start_nginx(nginx: str, tmp: Path, hygie_port: int, cert: Path, key: Path) -> tuple[subprocess.Popen, Proxy]:
    port, http_port = _free_port(), _free_port()
    servers = _substitute(
        _snippet("nginx"),
        {
            "listen 443 ssl;": f"listen 127.0.0.1:{port} ssl;",
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            "/etc/ssl/certs/cabinet.pem": str(cert),
            "/etc/ssl/private/cabinet.key": str(key),
            "cabinet.example.fr": "127.0.0.1",
            "127.0.0.1:8000": f"127.0.0.1:{hygie_port}",
        },
    )
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "\n".join(f"    {kind}_temp_path {tmp / kind};" for kind in kinds)
    # Test-only main context: everything in tmp; as root, workers stay root to write there.
    user = "user root;\n" if os.geteuid() == 0 else ""
    (tmp / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'} warn;\n"
        f"events {{ worker_connections 64; }}\nhttp {{\n    access_log off;\n{temp}\n{servers}}}\n"
    )
    proc = subprocess.Popen(
        [nginx, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"],
        cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return proc, Proxy("nginx", port, cert, tmp / "error.log", http_port=http_port)


@pytest.fixture(scope="module", params=["caddy", "nginx"])
def proxy(request, hygie, tmp_path_factory):
    binary = request.param
    executable = shutil.which(binary) or shutil.which(binary, path="/usr/sbin")
    if executable is None:
        pytest.skip(f"{binary} is not installed (scripts/system-deps.sh installs it)")
    tmp = tmp_path_factory.mktemp(binary)
    cert, key = _certificate(tmp)
    start = _start_caddy if binary == "caddy" else _start_nginx
    proc, proxy = start(executable, tmp, hygie.port, cert, key)
    try:
        _wait_listening(proxy.port, proc, binary, timeout=30)
        yield proxy
    finally:
        _stop(proc)


@dataclass
class Client:
    """A browser on one machine of the practice: its own loopback address, its cookies."""

    port: int
    source: str
    cafile: Path | None = None
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict[str, str] | None = None, headers: dict | None = None):
        if self.cafile is not None:
            context = ssl.create_default_context(cafile=str(self.cafile))
            conn = http.client.HTTPSConnection(
                "127.0.0.1", self.port, context=context, source_address=(self.source, 0), timeout=30
            )
            origin = f"https://127.0.0.1:{self.port}"
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, source_address=(self.source, 0), timeout=30)
            origin = f"http://127.0.0.1:{self.port}"
        sent = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            sent.update({"Content-Type": "application/x-www-form-urlencoded", "Origin": origin})
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            text = response.read().decode()
        finally:
            conn.close()
        for line in response.headers.get_all("Set-Cookie") or []:
            jar = http.cookies.SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        return response, text

    def csrf_token(self) -> str:
        response, text = self.request("GET", "/auth/login/")
        assert response.status == 200, (response.status, response.getheader("Location"))
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text).group(1)

    def fail_login(self, token: str, username: str, headers: dict | None = None) -> str:
        form = {"csrfmiddlewaretoken": token, "login": username, "password": "Pas-Le-Bon!Mot42"}
        response, text = self.request("POST", "/auth/login/", form=form, headers=headers)
        assert response.status == 200, (response.status, response.getheader("Location"))
        return html.unescape(text)


def _source(proxy: Proxy, n: int) -> str:
    """A distinct client address per proxy and per test (the throttle is shared by the server)."""
    return f"127.0.{10 if proxy.name == 'caddy' else 20}.{n}"


def _journal_addresses(hygie: Hygie) -> list[str | None]:
    with sqlite3.connect(f"file:{hygie.database}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT ip FROM audit_event WHERE action = ? ORDER BY id", (Ev.LOGIN_FAILED,))
        return [ip for (ip,) in rows.fetchall()]


def _per_address_limit() -> int:
    """Failed logins one address may make, all logins together, before it has to wait
    (hygie.lib.loginthrottle: the per-address rule against password spraying)."""
    return throttle.policy().address_failures


def test_it_serves_https_pages_through_the_proxy_without_a_loop_and_with_hsts(proxy):
    client = Client(proxy.port, _source(proxy, 1), cafile=proxy.cafile)
    response, text = client.request("GET", "/auth/login/")
    assert response.status == 200, (response.status, response.getheader("Location"))
    assert "csrfmiddlewaretoken" in text
    assert response.getheader("Strict-Transport-Security") == HSTS
    # Served as HTTPS: the session and CSRF cookies are Secure (the __Host- prefix requires it).
    response, _ = client.request("GET", "/")
    assert response.status == 302 and response.getheader("Location").startswith("/auth/login/")
    assert response.getheader("Strict-Transport-Security") == HSTS


def test_it_journals_the_client_address_not_the_proxy_nor_a_forged_one(proxy, hygie):
    client = Client(proxy.port, _source(proxy, 2), cafile=proxy.cafile)
    token = client.csrf_token()
    before = len(_journal_addresses(hygie))

    text = client.fail_login(token, "inconnu", headers={"X-Forwarded-For": FORGED})

    assert WRONG in text
    assert _journal_addresses(hygie)[before:] == [_source(proxy, 2)]


def test_it_throttles_logins_per_client_address_not_for_the_whole_practice(proxy):
    limit = _per_address_limit()
    attacker = Client(proxy.port, _source(proxy, 3), cafile=proxy.cafile)
    token = attacker.csrf_token()
    for i in range(limit):
        # A different login each time: only the per-address limit can trigger.
        assert WRONG in attacker.fail_login(token, f"essai{i}")
    assert REFUSED in attacker.fail_login(token, "essai-de-trop")

    # Another machine of the practice, through the same proxy, is not locked out.
    colleague = Client(proxy.port, _source(proxy, 4), cafile=proxy.cafile)
    text = colleague.fail_login(colleague.csrf_token(), "collegue")
    assert WRONG in text and REFUSED not in text
    # Nor can the attacker escape the limit by claiming another address.
    assert REFUSED in attacker.fail_login(token, "encore", headers={"X-Forwarded-For": FORGED})


def test_an_upload_does_not_touch_the_disk_of_the_proxy_in_clear(proxy):
    client = Client(proxy.port, _source(proxy, 6), cafile=proxy.cafile)
    token = client.csrf_token()
    big = {"csrfmiddlewaretoken": token, "login": "x", "password": "y", "document": "z" * (2 * 1024 * 1024)}
    response, _ = client.request("POST", "/auth/login/", form=big)
    assert response.status in {200, 400, 403, 413}, response.status  # reached Hygie, whatever it answers
    # nginx says so at "warn" level each time it spools a body to a temporary file.
    assert "buffered to a temporary file" not in proxy.log.read_text()


def test_the_proxy_redirects_plain_http_to_https(proxy):
    response, _ = Client(proxy.http_port, _source(proxy, 5)).request("GET", "/patients/")
    assert response.status in {301, 308}  # nginx, Caddy
    # Caddy knows the HTTPS port of the site; nginx's documented rule sends to 443, as in production.
    https_port = f":{proxy.port}" if proxy.name == "caddy" else ""
    assert response.getheader("Location") == f"https://127.0.0.1{https_port}/patients/"


def test_it_does_not_believe_forwarding_headers_from_an_untrusted_address(hygie):
    # Straight to hygie over plain HTTP, from a machine that is not the proxy, claiming HTTPS.
    client = Client(hygie.port, "127.0.0.2")
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": FORGED}
    response, _ = client.request("GET", "/auth/login/", headers=headers)
    # Not HTTPS: sent to the https:// address, and no HSTS on plain HTTP.
    assert response.status == 301
    assert response.getheader("Location") == f"https://127.0.0.1:{hygie.port}/auth/login/"
    assert response.getheader("Strict-Transport-Security") is None


def test_it_believes_the_trusted_proxy_address_itself(hygie):
    # 127.0.0.1 is the trusted proxy (the default): what it says about the scheme is believed.
    client = Client(hygie.port, "127.0.0.1")
    response, _ = client.request("GET", "/auth/login/", headers={"X-Forwarded-Proto": "https"})
    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") == HSTS
