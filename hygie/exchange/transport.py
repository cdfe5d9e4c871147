"""Talking to the MSSanté operator: SMTP to send, IMAP to receive (Référentiel socle MSSanté #2:
SMTP with STARTTLS on 587, IMAP with STARTTLS on 143, or their TLS ports).

Every connection verifies the server's certificate and name (hygie.exchange.account.tls_context)
before a password or a byte of a message is sent; a connection that cannot be secured is closed.
Failures become `TransportError` with a French reason and no secret; an SMTP transaction that did
not end with the server's acceptance of the data leaves nothing delivered (RFC 5321 §4.1.1.4).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import imaplib
import smtplib
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.utils.translation import gettext as _

from hygie.exchange import account as accounts
from hygie.exchange.models import AuthMethod, MssanteAccount, Security


class TransportError(Exception):
    """The operator could not be reached or refused; French reason, no secret."""


def _why(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _(
            "le certificat du serveur n'est pas valide ou pas celui attendu ({detail}) : connexion "
            "interrompue, rien n'a été transmis"
        ).format(detail=exc.verify_message or "vérification impossible")
    if isinstance(exc, ssl.SSLError):
        return _("la connexion chiffrée (TLS) a échoué")
    if isinstance(exc, smtplib.SMTPAuthenticationError | imaplib.IMAP4.error) and "auth" in str(exc).lower():
        return _("identifiant ou mot de passe refusé par l'opérateur")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _("identifiant ou mot de passe refusé par l'opérateur")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _("le destinataire a été refusé par l'opérateur (adresse inconnue ?)")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _("l'adresse du cabinet a été refusée par l'opérateur")
    if isinstance(exc, smtplib.SMTPDataError):
        return _("le message a été refusé par l'opérateur (code {code})").format(code=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return _("le serveur ne propose pas STARTTLS : connexion refusée, rien n'a été envoyé")
    if isinstance(exc, socket.timeout | TimeoutError):
        return _("le serveur ne répond pas (délai dépassé)")
    if isinstance(exc, ConnectionRefusedError):
        return _("connexion refusée par le serveur")
    if isinstance(exc, socket.gaierror):
        return _("serveur introuvable (nom inconnu)")
    if isinstance(exc, smtplib.SMTPException | imaplib.IMAP4.error | OSError):
        return _("erreur de l'opérateur ou du réseau")
    return _("erreur inattendue")


# --- SMTP ----------------------------------------------------------------------------------------


def _smtp(acc: MssanteAccount, context: ssl.SSLContext) -> smtplib.SMTP:
    timeout = settings.MSSANTE_TIMEOUT_SECONDS
    if acc.smtp_security == Security.TLS:
        return smtplib.SMTP_SSL(acc.smtp_host, acc.smtp_port, timeout=timeout, context=context)
    client = smtplib.SMTP(acc.smtp_host, acc.smtp_port, timeout=timeout)
    try:
        client.ehlo()
        if not client.has_extn("starttls"):
            raise smtplib.SMTPNotSupportedError("STARTTLS")
        client.starttls(context=context)
        client.ehlo()
    except BaseException:
        with contextlib.suppress(Exception):
            client.close()
        raise
    return client


def send(acc: MssanteAccount, message: EmailMessage) -> None:
    """Deliver `message` to the operator. TransportError (French) if anything fails."""
    try:
        context = accounts.tls_context(acc)
        secret = accounts.get_secret(acc)
    except accounts.AccountError as exc:
        raise TransportError(str(exc)) from None
    try:
        client = _smtp(acc, context)
        try:
            if acc.auth == AuthMethod.PASSWORD:
                client.login(acc.username, secret.get("password", ""))
            client.send_message(message)
        finally:
            with contextlib.suppress(Exception):
                client.quit()
    except Exception as exc:
        raise TransportError(_("Envoi impossible : {why}.").format(why=_why(exc))) from None


# --- IMAP ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    uid: str
    sender: str
    subject: str
    date: datetime | None
    attachments: int


@contextlib.contextmanager
def _imap(acc: MssanteAccount) -> Iterator[imaplib.IMAP4]:
    try:
        context = accounts.tls_context(acc)
        secret = accounts.get_secret(acc)
    except accounts.AccountError as exc:
        raise TransportError(str(exc)) from None
    client: imaplib.IMAP4 | None = None
    try:
        timeout = settings.MSSANTE_TIMEOUT_SECONDS
        if acc.imap_security == Security.TLS:
            client = imaplib.IMAP4_SSL(acc.imap_host, acc.imap_port, ssl_context=context, timeout=timeout)
        else:
            client = imaplib.IMAP4(acc.imap_host, acc.imap_port, timeout=timeout)
            if "STARTTLS" not in client.capabilities:
                raise smtplib.SMTPNotSupportedError("STARTTLS")
            client.starttls(ssl_context=context)
        if acc.auth == AuthMethod.PASSWORD:
            client.login(acc.username, secret.get("password", ""))
        else:
            # A client certificate authenticates the TLS session; the operator maps it to the box.
            client.authenticate("EXTERNAL", lambda _challenge: b"")
        client.select("INBOX")
        yield client
    except TransportError:
        raise
    except Exception as exc:
        raise TransportError(_("Relève impossible : {why}.").format(why=_why(exc))) from None
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                client.logout()


def _parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _date(msg: EmailMessage) -> datetime | None:
    try:
        return parsedate_to_datetime(str(msg["Date"])) if msg["Date"] else None
    except (TypeError, ValueError):
        return None


def inbox(acc: MssanteAccount, limit: int = 50) -> list[Received]:
    """The messages not yet filed (unseen), newest first, without their content."""
    with _imap(acc) as client:
        status, data = client.uid("SEARCH", "UNSEEN")
        uids = (data[0] or b"").split() if status == "OK" else []
        out: list[Received] = []
        for uid in reversed(uids[-limit:]):
            status, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
            if status != "OK" or raw is None:
                continue
            msg = _parse(raw)
            out.append(
                Received(
                    uid=uid.decode(),
                    sender=str(msg["From"] or ""),
                    subject=str(msg["Subject"] or ""),
                    date=_date(msg),
                    attachments=sum(1 for _ in msg.iter_attachments()),
                )
            )
        return out


def fetch(acc: MssanteAccount, uid: str) -> EmailMessage:
    """One message, by its IMAP UID, without marking it read."""
    if not uid.isdigit():
        raise TransportError(_("Message introuvable."))
    with _imap(acc) as client:
        status, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
        raw = next((p[1] for p in parts if isinstance(p, tuple)), None) if status == "OK" else None
        if raw is None:
            raise TransportError(_("Message introuvable (déjà classé ou supprimé ?)."))
        if len(raw) > settings.EXCHANGE_MAX_MB * 1024 * 1024:
            raise TransportError(_("Message trop volumineux."))
        return _parse(raw)


def mark_filed(acc: MssanteAccount, uid: str) -> None:
    """Flag the message \\Seen once its documents are filed: it leaves the list."""
    with _imap(acc) as client:
        client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
