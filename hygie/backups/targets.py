"""Backup targets: what each kind keeps in `Target.config` (in clear) and in `Target.secret`
(encrypted), how a target becomes a `Store`, and what the administrator is told about them.

    directory  config {path}                                  secret {}
    sftp       config {host, port, username, path, host_key}  secret {private_key, password}
               (+ public_key: the practice's client key, to add to the server's authorized_keys)
    s3         config {endpoint_url, bucket, prefix, region, access_key, lock_days, lock_mode}
               secret {secret_key}

The secret is JSON encrypted with the keys service's secrets key (the one that protects TOTP
secrets), its associated data binding it to its target: a secret copied onto another target's
row does not decrypt. Nothing here ever puts a secret in a message, a description or the journal.

The SFTP and S3 stores (paramiko, boto3) are imported only when a target of that kind is used.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db.models import Exists
from django.db.models.expressions import BaseExpression
from django.utils.translation import gettext as _

from hygie.backups.models import Target, TargetKind
from hygie.backups.stores import Store, StoreError
from hygie.core import onerow
from hygie.keys import service as key_service
from hygie.lib import crypto

CONFIG_KEYS: dict[str, tuple[str, ...]] = {
    TargetKind.DIRECTORY: ("path",),
    TargetKind.SFTP: ("host", "port", "username", "path", "host_key", "public_key"),
    TargetKind.S3: ("endpoint_url", "bucket", "prefix", "region", "access_key", "lock_days", "lock_mode"),
}
SECRET_KEYS: dict[str, tuple[str, ...]] = {
    TargetKind.DIRECTORY: (),
    TargetKind.SFTP: ("private_key", "password"),
    TargetKind.S3: ("secret_key",),
}
LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")
DEFAULT_SFTP_PORT = 22

_AD_PREFIX = b"hygie:backup-target\x1f"


# --- The secret -------------------------------------------------------------------------------


def _associated_data(target: Target) -> bytes:
    return _AD_PREFIX + str(target.public_id).encode()


def set_secret(target: Target, data: dict[str, str]) -> None:
    """Encrypt `data` into `target.secret` (the caller saves the row). Empty values are dropped;
    an empty dict leaves an empty secret."""
    clean = {str(k): str(v) for k, v in data.items() if v not in (None, "")}
    if not clean:
        target.secret = b""
        return
    plaintext = json.dumps(clean, sort_keys=True).encode("utf-8")
    target.secret = key_service.secrets_key().encrypt(plaintext, _associated_data(target))


def get_secret(target: Target) -> dict[str, str]:
    raw = bytes(target.secret or b"")
    if not raw:
        return {}
    return json.loads(key_service.secrets_key().decrypt(raw, _associated_data(target)).decode("utf-8"))


# --- Stores -----------------------------------------------------------------------------------


def _store_module(name: str) -> Any:
    # By name, at the time of use: paramiko and boto3 load only for targets that need them.
    return importlib.import_module(f"hygie.backups.stores.{name}")


def open_store(target: Target) -> Store:
    """The store of `target`. StoreError (French, no secret) if it cannot even be built."""
    config = target.config or {}
    if target.kind == TargetKind.DIRECTORY:
        from hygie.backups.stores.directory import DirectoryStore

        return DirectoryStore(config.get("path", ""))
    try:
        secret = get_secret(target)
    except (crypto.DecryptionError, ValueError):
        # Another key, or a row copied from elsewhere. (KeysUnavailable, a locked process, is
        # not this destination's fault: it goes up as it is.)
        raise StoreError(
            _("Secret de la destination « %(name)s » illisible : saisissez à nouveau le mot de passe ou la clé.")
            % {"name": target.name}
        ) from None
    if target.kind == TargetKind.SFTP:
        return _store_module("sftp").SftpStore(
            host=config.get("host", ""),
            port=int(config.get("port") or DEFAULT_SFTP_PORT),
            username=config.get("username", ""),
            path=config.get("path", ""),
            host_key=config.get("host_key", ""),
            private_key=secret.get("private_key", ""),
            password=secret.get("password", ""),
        )
    if target.kind == TargetKind.S3:
        return _store_module("s3").S3Store(
            endpoint_url=config.get("endpoint_url", ""),
            bucket=config.get("bucket", ""),
            prefix=config.get("prefix", ""),
            region=config.get("region", ""),
            access_key=config.get("access_key", ""),
            secret_key=secret.get("secret_key", ""),
            lock_days=int(config.get("lock_days") or 0),
            lock_mode=config.get("lock_mode") or LOCK_MODES[0],
        )
    raise StoreError(_("Type de destination inconnu : %(kind)s.") % {"kind": target.kind})


def locked_objects(target: Target) -> bool:
    """S3 with object lock: what is written cannot be deleted before its retention date."""
    return target.kind == TargetKind.S3 and int((target.config or {}).get("lock_days") or 0) > 0


# --- SFTP keys --------------------------------------------------------------------------------


def generate_client_key() -> tuple[str, str]:
    """A new key pair for the practice: (private key text, public `authorized_keys` line)."""
    return _store_module("sftp").generate_client_key()


def client_public_key(target: Target) -> str:
    """SFTP: the practice's public key line for the server's authorized_keys ("" otherwise)."""
    if target.kind != TargetKind.SFTP:
        return ""
    return str((target.config or {}).get("public_key", ""))


def fetch_host_key(host: str, port: int) -> str:
    """The server's host key line, as the server presents it (StoreError if unreachable).
    Shown with its fingerprint for the administrator to confirm: never trusted silently."""
    return _store_module("sftp").fetch_host_key(host, port)


def fingerprint(host_key: str) -> str:
    """`SHA256:…` of a host key line (ValueError or StoreError if unreadable)."""
    return _store_module("sftp").fingerprint(host_key)


def safe_fingerprint(host_key: str) -> str:
    """The fingerprint, or "" if there is no key or it cannot be read (for display)."""
    if not host_key:
        return ""
    try:
        return fingerprint(host_key)
    except Exception:
        return ""


# --- What the administrator reads ----------------------------------------------------------


def describe(target: Target) -> str:
    """A French one-liner, without any secret."""
    config = target.config or {}
    if target.kind == TargetKind.DIRECTORY:
        if target.always_connected:
            return _("Dossier %(path)s (reste branché)") % {"path": config.get("path", "")}
        return _("Dossier %(path)s (débranché après chaque sauvegarde)") % {"path": config.get("path", "")}
    if target.kind == TargetKind.SFTP:
        port = config.get("port") or DEFAULT_SFTP_PORT
        path = str(config.get("path", "")).lstrip("/")
        return f"sftp://{config.get('username', '')}@{config.get('host', '')}:{port}/{path}"
    if target.kind == TargetKind.S3:
        where = f"s3://{config.get('bucket', '')}/{str(config.get('prefix', '')).lstrip('/')}"
        text = _("%(where)s sur %(endpoint)s") % {"where": where, "endpoint": config.get("endpoint_url", "")}
        days = int(config.get("lock_days") or 0)
        if days:
            text += ", " + _("verrouillage %(days)s jours (%(mode)s)") % {
                "days": days, "mode": config.get("lock_mode") or LOCK_MODES[0]
            }
        return text
    return target.kind


def warnings_reads() -> dict[str, BaseExpression]:
    """What `warnings` needs, as scalar sub-selects (hygie.core.onerow), for a caller that
    reads them with its other values (the dashboard). Compiled once (`onerow.frozen`)."""
    return onerow.frozen(_warnings_reads)


def _warnings_reads() -> dict[str, BaseExpression]:
    enabled = Target.objects.filter(enabled=True)
    return {
        "targets_any": Exists(Target.objects.all()),
        "targets_enabled": Exists(enabled),
        "targets_enabled_offsite": Exists(enabled.filter(Target.offsite_q())),
    }


def warnings(read: dict[str, Any] | None = None) -> list[str]:
    """What is wrong with where backups go, in French, for the backups page and the dashboard.
    One query (none: `read`, the values of `warnings_reads()` read already)."""
    read = read if read is not None else onerow.read(warnings_reads())
    if not read["targets_enabled"]:
        if read["targets_any"]:
            return [_("Aucune destination active : les sauvegardes ne sont pas faites.")]
        return [_("Aucune destination : les sauvegardes ne sont pas faites.")]
    if not read["targets_enabled_offsite"]:
        return [
            _(
                "Les sauvegardes ne vont que sur un disque qui reste branché : un rançongiciel qui "
                "chiffre cet ordinateur chiffrerait aussi les sauvegardes. Ajoutez une copie hors de "
                "portée (serveur SFTP, stockage S3 avec verrouillage) ou un disque débranché après "
                "chaque sauvegarde."
            )
        ]
    return []


# --- Checking a configuration -----------------------------------------------------------------

_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:]+:[0-9A-Fa-f:.]*|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _inside(path: Path, parent: Path) -> bool:
    try:
        path.resolve().relative_to(parent.resolve())
    except (ValueError, OSError):
        return False
    return True


def normalise(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The keys of `kind` only, strings stripped, numbers as numbers (unreadable ones left as
    they are, for `config_errors` to report)."""
    out: dict[str, Any] = {}
    for key in CONFIG_KEYS.get(kind, ()):
        value = config.get(key, "")
        if value is None:
            value = ""
        if isinstance(value, str):
            value = value.strip()
        if key in ("port", "lock_days") and value != "":
            with contextlib.suppress(TypeError, ValueError):
                value = int(value)
        if key == "lock_mode" and isinstance(value, str):
            value = value.upper()
        out[key] = value
    if kind == TargetKind.SFTP and out.get("port") == "":
        out["port"] = DEFAULT_SFTP_PORT
    if kind == TargetKind.S3:
        if out.get("lock_days") == "":
            out["lock_days"] = 0
        out["lock_mode"] = out.get("lock_mode") or LOCK_MODES[0]
        out["prefix"] = str(out.get("prefix", "")).strip("/")
    return out


def _int_between(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def config_errors(kind: str, config: dict[str, Any]) -> dict[str, str]:
    """French messages by field for what is wrong in a (normalised) configuration."""
    errors: dict[str, str] = {}
    if kind == TargetKind.DIRECTORY:
        raw = str(config.get("path", ""))
        if not raw:
            errors["path"] = _("Indiquez le dossier de destination.")
        elif not Path(raw).is_absolute():
            errors["path"] = _(
                "Le dossier doit être un chemin absolu, par exemple /media/sauvegarde ou /mnt/nas/hygie."
            )
        elif _inside(Path(raw), Path(settings.DATA_DIR)):
            errors["path"] = _("Le dossier de sauvegarde ne peut pas être dans le répertoire de données de Hygie.")
        elif Path(raw).resolve() == Path(settings.KEY_FILE).expanduser().resolve().parent:
            errors["path"] = _(
                "Le dossier de sauvegarde ne peut pas être celui du fichier de clés : une sauvegarde et "
                "les clés ne doivent jamais voyager ensemble."
            )
    elif kind == TargetKind.SFTP:
        if not _HOST.match(str(config.get("host", ""))):
            errors["host"] = _("Nom de serveur ou adresse IP invalide.")
        if not _int_between(config.get("port"), 1, 65535):
            errors["port"] = _("Le port doit être un nombre entre 1 et 65535.")
        username = str(config.get("username", ""))
        if not username or any(c.isspace() or c in "@:/" for c in username):
            errors["username"] = _("Indiquez l'utilisateur du serveur SFTP (sans espace, @, : ni /).")
        if not str(config.get("host_key", "")):
            errors["host_key"] = _(
                "Récupérez la clé du serveur et vérifiez son empreinte avant d'enregistrer."
            )
    elif kind == TargetKind.S3:
        url = str(config.get("endpoint_url", ""))
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            errors["endpoint_url"] = _("Adresse du service invalide : une URL commençant par https:// (ou http://).")
        if not _BUCKET.match(str(config.get("bucket", ""))):
            errors["bucket"] = _(
                "Nom de compartiment invalide : 3 à 63 caractères, minuscules, chiffres, points et tirets."
            )
        if not str(config.get("access_key", "")):
            errors["access_key"] = _("Indiquez la clé d'accès.")
        if not _int_between(config.get("lock_days"), 0, 3650):
            errors["lock_days"] = _("La durée de verrouillage doit être entre 0 et 3650 jours.")
        if config.get("lock_mode") not in LOCK_MODES:
            errors["lock_mode"] = _("Mode de verrouillage : COMPLIANCE ou GOVERNANCE.")
        if any(c.isspace() for c in str(config.get("prefix", ""))):
            errors["prefix"] = _("Le préfixe ne peut pas contenir d'espace.")
    else:
        errors["kind"] = _("Type de destination inconnu : %(kind)s.") % {"kind": kind}
    return errors
