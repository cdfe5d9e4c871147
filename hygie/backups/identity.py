"""The practice's backup identity: an age X25519 key kept next to the key file.

`backup-identity.txt` is in the format of `age-keygen` (comments, then AGE-SECRET-KEY-1…), so
that `age -d -i backup-identity.txt` opens a backup as is. Created once, 0600, outside the data
dir; it is also printed in the recovery kit, from which `hygie keys recover` writes it back on a
new machine (never over another one). It stays in clear even when the key file is
protected by a passphrase (first cut: backups run unattended; see docs/operations.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from hygie.lib import backuparchive, privatefile


class IdentityMissing(Exception):
    pass


def identity_file() -> Path:
    return Path(settings.KEY_FILE).expanduser().parent / "backup-identity.txt"


def _secret_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip().startswith("AGE-SECRET-KEY-1"):
            return line.strip()
    raise backuparchive.ArchiveError("Identité de sauvegarde illisible : aucune ligne AGE-SECRET-KEY-1….")


def load(path: Path | None = None) -> str:
    """The AGE-SECRET-KEY-1… line; IdentityMissing if the file does not exist."""
    path = path or identity_file()
    try:
        return _secret_line(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IdentityMissing(
            f"Identité de sauvegarde introuvable : {path}. Recopiez-la depuis le kit de récupération "
            "(ligne AGE-SECRET-KEY-1…) dans ce fichier, ou indiquez --identity FICHIER."
        ) from None


def _file_text(secret: str) -> str:
    """The file as `age-keygen` writes it (comments, then the secret line)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"# created: {now}\n# public key: {backuparchive.recipient_of(secret)}\n{secret}\n"


def load_or_create(path: Path | None = None) -> str:
    """Created on first need; a second process racing us ends up with the same identity (link)."""
    path = path or identity_file()
    if not path.exists():
        secret, _recipient = backuparchive.generate_identity()
        privatefile.write_new(path, _file_text(secret))
    return load(path)


class IdentityConflict(Exception):
    """Another backup identity is already on this machine. French message for the user."""


def has(secret: str, path: Path | None = None) -> bool:
    """Whether `secret` is already this machine's backup identity: False if there is none,
    IdentityConflict if there is another one (or an unreadable file)."""
    path = path or identity_file()
    try:
        current = load(path)
    except IdentityMissing:
        return False
    except (backuparchive.ArchiveError, OSError, UnicodeDecodeError):
        raise IdentityConflict(
            f"Identité de sauvegarde illisible : {path}. Déplacez ce fichier (ne le supprimez pas), puis recommencez."
        ) from None
    if current != secret:
        raise IdentityConflict(
            f"Une autre identité de sauvegarde existe déjà : {path}. Elle ouvre peut-être des sauvegardes "
            "faites depuis cette machine : elle n'est pas remplacée. Déplacez-la (ne la supprimez pas), "
            "puis recommencez."
        )
    return True


def install(secret: str, path: Path | None = None) -> bool:
    """The identity of a recovery kit, written (0600) if this machine has none: True if written,
    False if the same one is already there; never replaces another one (IdentityConflict)."""
    path = path or identity_file()
    backuparchive.recipient_of(secret)  # a valid identity, or ArchiveError
    if has(secret, path):
        return False
    if privatefile.write_new(path, _file_text(secret)):
        return True
    has(secret, path)  # another process wrote one meanwhile: the same, or IdentityConflict
    return False


def recipients() -> list[str]:
    """The practice's own recipient, then the extra ones of HYGIE_BACKUP_RECIPIENTS."""
    own = backuparchive.recipient_of(load_or_create())
    extra = [r for r in settings.BACKUP_RECIPIENTS if r and r != own]
    return [own, *extra]
