"""Real local servers for the MSSanté tests, with certificates made for the test.

`make_ca` / `server_cert` build a small PKI with `cryptography`; `SmtpServer` is aiosmtpd (a real
SMTP server, in a thread) with STARTTLS required and password authentication; `Dovecot` (see
test_imap.py) is Debian's IMAP server run as a child process.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Pki:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str = "Autorité de test") -> Pki:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return Pki(cert, key)


def client_cert(ca: Pki, cn: str = "CABINET DES LILAS") -> Pki:
    """A client certificate, as IGC-Santé issues software certificates to application mailboxes."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn)).issuer_name(ca.cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return Pki(cert, key)


def key_pem(pki: Pki) -> str:
    return pki.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def server_cert(ca: Pki, host: str = "localhost") -> Pki:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(host)).issuer_name(ca.cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(host), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca.key, hashes.SHA256())
    )
    return Pki(cert, key)


def write_pem(pki: Pki, directory: Path, stem: str) -> tuple[Path, Path]:
    cert = directory / f"{stem}.crt"
    key = directory / f"{stem}.key"
    cert.write_bytes(pki.cert.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(pki.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    key.chmod(0o600)
    return cert, key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    username: str = "cabinet"
    password: str = "secret-de-test-smtp"
    messages: list[bytes] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(envelope.original_content or envelope.content)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(), auth_data.password.decode()
        ) == (self.username, self.password)
        # handled=False: aiosmtpd answers 535 itself on a refusal.
        return AuthResult(success=ok, handled=False)


class SmtpServer:
    """aiosmtpd on 127.0.0.1 with STARTTLS (required) and AUTH (after TLS only)."""

    def __init__(self, tmp: Path, pki: Pki, *, starttls: bool = True, client_ca: Pki | None = None) -> None:
        cert, key = write_pem(pki, tmp, f"smtp-{id(self)}")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        if client_ca is not None:
            # Certificate authentication: the TLS session itself proves who the client is.
            context.load_verify_locations(cadata=client_ca.pem)
            context.verify_mode = ssl.CERT_REQUIRED
        self.mailbox = Mailbox()
        self.port = free_port()
        self.controller = Controller(
            self.mailbox,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="localhost",
            tls_context=context if starttls else None,
            require_starttls=starttls,
            authenticator=self.mailbox.authenticate,
            auth_required=client_ca is None,
            auth_require_tls=starttls,
        )

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class Dovecot:
    """Debian's dovecot (IMAP, STARTTLS on a free port), in the foreground as a child process,
    with its own configuration, mailbox and users in a directory of its own under /tmp (its
    unprivileged processes must reach it: pytest's tmp_path is private to root). Mail is owned by
    `nobody` when the tests run as root (dovecot refuses root as a mail user), else by the user."""

    def __init__(self, pki: Pki, *, username: str = "cabinet", password: str = "secret-imap") -> None:  # noqa: S107
        import os
        import pwd
        import tempfile

        self.tmp = Path(tempfile.mkdtemp(prefix="hygie-dovecot-"))
        self.port = free_port()
        self.username, self.password = username, password
        cert, key = write_pem(pki, self.tmp, "imap")
        uid = os.getuid()
        if uid == 0:
            who = pwd.getpwnam("nobody")
            mail_uid, mail_gid = who.pw_uid, who.pw_gid
            internal, login = "dovecot", "dovenull"
        else:
            mail_uid, mail_gid = uid, os.getgid()
            internal = login = pwd.getpwuid(uid).pw_name
        mail = self.tmp / "mail"
        mail.mkdir()
        os.chown(mail, mail_uid, mail_gid)
        (self.tmp / "users").write_text(f"{username}:{{PLAIN}}{password}:{mail_uid}:{mail_gid}::{mail}\n")
        os.chmod(self.tmp / "users", 0o644)  # the test account only; dovecot's auth user reads it
        os.chmod(self.tmp, 0o755)  # noqa: S103 (dovecot's unprivileged processes traverse it)
        self.config = self.tmp / "dovecot.conf"
        self.config.write_text(
            f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.tmp}/run
state_dir = {self.tmp}/state
log_path = {self.tmp}/dovecot.log
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 1
last_valid_uid = 0
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
mail_location = maildir:{mail}/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.tmp}/users
}}
userdb {{
  driver = passwd-file
  args = {self.tmp}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""
        )
        self.process: object = None

    def __enter__(self) -> Dovecot:
        import subprocess
        import time

        self.process = subprocess.Popen(
            ["/usr/sbin/dovecot", "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:  # type: ignore[attr-defined]
                    log = (self.tmp / "dovecot.log").read_text() if (self.tmp / "dovecot.log").exists() else ""
                    self.__exit__()
                    raise RuntimeError(f"dovecot did not start: {log[-2000:]}") from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        process = self.process
        if process is not None:
            process.terminate()  # type: ignore[attr-defined]
            try:
                process.wait(timeout=10)  # type: ignore[attr-defined]
            except Exception:
                process.kill()  # type: ignore[attr-defined]
            self.process = None
        import shutil

        shutil.rmtree(self.tmp, ignore_errors=True)

    def deliver(self, raw: bytes, ca_pem: str) -> None:
        """Put a message in the box as the operator would (IMAP APPEND, over STARTTLS)."""
        import imaplib

        client = imaplib.IMAP4("localhost", self.port)
        client.starttls(ssl_context=ssl.create_default_context(cadata=ca_pem))
        client.login(self.username, self.password)
        client.append("INBOX", "", imaplib.Time2Internaldate(dt.datetime.now(dt.UTC)), raw)
        client.logout()
