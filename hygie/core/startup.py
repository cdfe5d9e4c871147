"""What the commands check and prepare before touching data or opening a port.

Plain functions, so that each refusal is tested without starting a server.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.management import call_command
from django.db import connection

from hygie.lib import keyfile


class StartupError(Exception):
    """Hygie refuses to go on. The message is French and tells what to do."""


def check_keys(*, env: str, keys_missing: bool, keys_error: str, secret_from_env: bool) -> None:
    """In production, no server without the practice's key file: sessions signed with a
    throwaway key would die at each restart, and patients could not be recognised (the
    fingerprint key lives there). HYGIE_SECRET_KEY alone is not enough."""
    if env == "production" and keys_missing:
        raise StartupError(
            f"{keys_error}\nHygie ne démarre pas sans ses clés en production. Lancez « hygie init » "
            "pour créer le cabinet, ou indiquez le fichier de clés avec HYGIE_KEY_FILE."
        )


def require_keys() -> None:
    """Commands that recognise patients (import) need the fingerprint key of the key file."""
    # Passphrase mode: the fingerprint key comes with the unlock (hygie.keys.service).
    if settings.HYGIE_KEYS_MISSING or not (settings.HYGIE_FINGERPRINT_KEY or settings.HYGIE_KEYS_PROTECTED):
        raise StartupError(
            f"{settings.HYGIE_KEYS_ERROR or 'Clés non chargées.'}\nSans le fichier de clés du cabinet, "
            "Hygie ne peut pas reconnaître les patients déjà présents. Indiquez-le avec HYGIE_KEY_FILE."
        )


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def shown_url(host: str, port: int) -> str:
    """The address `hygie serve` prints. On this machine it is http://localhost, not the IP
    address it listens on: security keys (WebAuthn) name the site by its host name and browsers
    refuse an IP address (« invalid domain »); localhost resolves to the loopback address."""
    if is_loopback(host):
        return f"http://localhost:{port}/"
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def check_bind(host: str, *, https: bool, allow_insecure_lan: bool) -> None:
    """Patient data never crosses the practice's network in clear text: a non-local address is
    only served behind a TLS reverse proxy (base URL in https://)."""
    if is_loopback(host) or https or allow_insecure_lan:
        return
    raise StartupError(
        f"Refus d'écouter sur {host} sans HTTPS : les mots de passe et les données des patients "
        "circuleraient en clair sur le réseau du cabinet.\n"
        "Placez un proxy TLS (par exemple Caddy) devant Hygie et indiquez son adresse en https:// "
        "dans HYGIE_BASE_URL : voir docs/operations.md, « Servir le réseau du cabinet en HTTPS ».\n"
        "Pour un essai sur un réseau de confiance seulement : --allow-insecure-lan."
    )


def proxy_warnings(*, https: bool, behind_proxy: bool, ssl_redirect: bool) -> list[str]:
    """Proxy settings that cannot work together (said at start, in French, with the fix).

    `hygie serve` speaks plain HTTP: an https:// base URL means a TLS proxy in front, and only a
    proxy Hygie trusts can tell it that the browser used HTTPS."""
    warnings = []
    if https and not behind_proxy and ssl_redirect:
        warnings.append(
            "HYGIE_BASE_URL est en https:// mais HYGIE_BEHIND_PROXY n'est pas activé : Hygie ne croit pas "
            "le proxy TLS et redirigera chaque requête vers elle-même. Indiquez HYGIE_BEHIND_PROXY=true "
            "(et HYGIE_TRUSTED_PROXY si le proxy n'est pas sur cette machine) : voir docs/operations.md."
        )
    if behind_proxy and not https:
        warnings.append(
            "HYGIE_BEHIND_PROXY=true mais HYGIE_BASE_URL n'est pas en https:// : cookies non sécurisés et "
            "pas d'en-tête HSTS. Indiquez l'adresse du cabinet en https:// dans HYGIE_BASE_URL."
        )
    return warnings


def ensure_keys() -> bool:
    """Create the key file if it is missing and load it into the running settings.

    Settings read the key file at import; a command that has just created it updates them so
    that what follows (fingerprints, sessions) uses the new keys. Returns True if created.
    """
    path = Path(settings.KEY_FILE)
    created = not path.exists()
    try:
        material = keyfile.load_or_create(path)
    except keyfile.KeyFileLocked as exc:
        # Passphrase mode: the other keys wait for the unlock (hygie.keys.service).
        if not os.environ.get("HYGIE_SECRET_KEY") and not os.environ.get("HYGIE_SECRET_KEY_FILE"):
            settings.SECRET_KEY = exc.header.secret_key
        settings.HYGIE_KEYS_PROTECTED = True
        settings.HYGIE_KEYS_MISSING = False
        settings.HYGIE_KEYS_ERROR = ""
        return False
    if not os.environ.get("HYGIE_SECRET_KEY") and not os.environ.get("HYGIE_SECRET_KEY_FILE"):
        settings.SECRET_KEY = material.secret_key
    settings.HYGIE_FINGERPRINT_KEY = material.fingerprint_key
    settings.HYGIE_KEYS_MISSING = False
    settings.HYGIE_KEYS_ERROR = ""
    return created


def existing_practice():
    """The practice of this data dir, or None; works before the first migration."""
    from hygie.practices.models import Practice

    if Practice._meta.db_table not in connection.introspection.table_names():
        return None
    return Practice.current()


# pg_advisory_lock key of the schema upgrade: "HYGIEMIG" as a 64-bit integer.
MIGRATION_LOCK = int.from_bytes(b"HYGIEMIG", "big") - (1 << 63)


def prepare_database(stdout: IO[str] | None = None, verbosity: int = 0) -> None:
    """Apply pending migrations and create the shared cache table: nothing to do by hand.

    Several app servers started together on one PostgreSQL database (after an upgrade, or the
    first time) take turns: the first applies the migrations under an advisory lock, the others
    wait for it and find nothing left to do. SQLite serves one machine (its own file lock)."""
    locked = connection.vendor == "postgresql"
    if locked:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
    try:
        call_command("migrate", interactive=False, verbosity=verbosity, stdout=stdout)
        call_command("createcachetable", verbosity=verbosity, stdout=stdout)
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
