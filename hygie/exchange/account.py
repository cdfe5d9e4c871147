"""The practice's MSSanté account: its secret, its TLS context, what is wrong with it.

The secret (the password, or the private key of the IGC-Santé client certificate) is JSON
encrypted with the keys service's secrets key, its associated data binding it to the account's
row, exactly as hygie.backups.targets keeps the backup targets' secrets. Nothing here ever puts a
secret in a message or the journal.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import tempfile
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from hygie.exchange.models import AuthMethod, MssanteAccount, Security
from hygie.keys import service as key_service
from hygie.lib import crypto
from hygie.lib import exchange as rules

_AD_PREFIX = b"hygie:mssante-account\x1f"
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


class AccountError(Exception):
    """The account cannot be used as it is; French message, no secret."""


def current() -> MssanteAccount | None:
    return MssanteAccount.objects.order_by("id").first()


def _ad(account: MssanteAccount) -> bytes:
    return _AD_PREFIX + str(account.public_id).encode()


def set_secret(account: MssanteAccount, data: dict[str, str]) -> None:
    clean = {k: v for k, v in data.items() if v}
    if not clean:
        account.secret = b""
        return
    account.secret = key_service.secrets_key().encrypt(json.dumps(clean, sort_keys=True).encode(), _ad(account))


def get_secret(account: MssanteAccount) -> dict[str, str]:
    raw = bytes(account.secret or b"")
    if not raw:
        return {}
    try:
        return dict(json.loads(key_service.secrets_key().decrypt(raw, _ad(account)).decode()))
    except (crypto.DecryptionError, ValueError):
        raise AccountError(
            _("Secret du compte MSSanté illisible : saisissez à nouveau le mot de passe ou la clé.")
        ) from None


def tls_context(account: MssanteAccount) -> ssl.SSLContext:
    """Verifies the server's certificate and name against the system's authorities plus the
    account's (IGC-Santé); presents the client certificate if the account uses one."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if account.ca_pem.strip():
        try:
            context.load_verify_locations(cadata=account.ca_pem)
        except (ssl.SSLError, ValueError):
            raise AccountError(
                _("Les autorités de certification enregistrées sont illisibles (PEM attendu).")
            ) from None
    if account.auth == AuthMethod.CERTIFICATE:
        key = get_secret(account).get("private_key", "")
        # ssl loads a chain from files only: a private temporary file, deleted at once.
        fd, name = tempfile.mkstemp(prefix=".mssante-", suffix=".pem")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(account.client_cert_pem.strip() + "\n" + key.strip() + "\n")
            context.load_cert_chain(name)
        except (ssl.SSLError, ValueError):
            raise AccountError(_("Le certificat client ou sa clé privée est illisible.")) from None
        finally:
            os.unlink(name)
    return context


def config_errors(data: dict[str, Any], *, has_secret: bool) -> dict[str, str]:
    """French messages by field for a configuration typed in the form."""
    errors: dict[str, str] = {}
    try:
        rules.normalise_address(str(data.get("address", "")))
        if not rules.is_mssante_domain(rules.domain_of(str(data["address"])), _extra_domains()):
            errors["address"] = _("L'adresse du cabinet doit être une adresse MSSanté (…@…mssante.fr).")
    except rules.AddressError:
        errors["address"] = _("Adresse de messagerie invalide.")
    for key in ("smtp_host", "imap_host"):
        if not _HOST.match(str(data.get(key, ""))):
            errors[key] = _("Nom de serveur invalide.")
    for key in ("smtp_port", "imap_port"):
        value = data.get(key)
        if not isinstance(value, int) or not 1 <= value <= 65535:
            errors[key] = _("Le port doit être un nombre entre 1 et 65535.")
    for key in ("smtp_security", "imap_security"):
        if data.get(key) not in Security.values:
            errors[key] = _("Choisissez STARTTLS ou TLS direct.")
    auth = data.get("auth")
    if auth == AuthMethod.PASSWORD:
        if not str(data.get("username", "")).strip():
            errors["username"] = _("Indiquez l'identifiant du compte.")
        if not (data.get("password") or has_secret):
            errors["password"] = _("Indiquez le mot de passe du compte.")
    elif auth == AuthMethod.CERTIFICATE:
        if "BEGIN CERTIFICATE" not in str(data.get("client_cert_pem", "")):
            errors["client_cert_pem"] = _("Collez le certificat IGC-Santé (PEM).")
        if not (data.get("private_key") or has_secret):
            errors["private_key"] = _("Collez la clé privée du certificat (PEM).")
    else:
        errors["auth"] = _("Choisissez une méthode d'authentification.")
    ca = str(data.get("ca_pem", "")).strip()
    if ca and "BEGIN CERTIFICATE" not in ca:
        errors["ca_pem"] = _("Les autorités doivent être des certificats PEM.")
    return errors


def _extra_domains() -> list[str]:
    return list(settings.MSSANTE_DOMAINS)
