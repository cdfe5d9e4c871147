"""The practice's backup identity: an age X25519 key kept next to the key file.

`backup-identity.txt` is in the format of `age-keygen` (comments, then AGE-SECRET-KEY-1…), so
that `age -d -i backup-identity.txt` opens a backup as is. Created once, 0600, outside the data
dir; it is also printed in the recovery kit. It stays in clear even when the key file is
protected by a passphrase (first cut: backups run unattended; see docs/operations.md).
"""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from hygie.lib import backuparchive


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


def load_or_create(path: Path | None = None) -> str:
    """Created on first need; a second process racing us ends up with the same identity (link)."""
    path = path or identity_file()
    if not path.exists():
        secret, recipient = backuparchive.generate_identity()
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = f"# created: {now}\n# public key: {recipient}\n{secret}\n"
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
    return load(path)


def recipients() -> list[str]:
    """The practice's own recipient, then the extra ones of HYGIE_BACKUP_RECIPIENTS."""
    own = backuparchive.recipient_of(load_or_create())
    extra = [r for r in settings.BACKUP_RECIPIENTS if r and r != own]
    return [own, *extra]
