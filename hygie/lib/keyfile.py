"""The key file: secret material kept outside the data directory.

It is a small JSON document, readable by its owner only (0600). For now it holds the
Django secret key (session signing, CSRF) and a key for identity fingerprints; the
encryption-at-rest work adds the master key to it.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

FORMAT_VERSION = 1


class KeyFileError(Exception):
    """The key file is missing, unreadable or malformed. French message for the user."""


@dataclass(frozen=True)
class KeyMaterial:
    secret_key: str
    fingerprint_key: bytes


def default_key_file() -> Path:
    """Outside the data dir by default: the user's configuration directory."""
    if os.name == "nt":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "hygie" / "keys.json"


def load(path: Path) -> KeyMaterial:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyFileError(
            f"Fichier de clés introuvable : {path}. Lancez « hygie init » pour créer le cabinet."
        ) from None
    except OSError as exc:
        raise KeyFileError(f"Fichier de clés illisible : {path} ({exc.strerror}).") from None
    try:
        doc = json.loads(raw)
        if doc.get("version") != FORMAT_VERSION:
            raise KeyFileError(f"Version du fichier de clés non reconnue : {path}.")
        return KeyMaterial(
            secret_key=str(doc["secret_key"]),
            fingerprint_key=bytes.fromhex(doc["fingerprint_key"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise KeyFileError(f"Fichier de clés endommagé : {path}.") from None


def create(path: Path) -> KeyMaterial:
    """Create a new key file with fresh random keys. Refuses to overwrite an existing one."""
    material = KeyMaterial(
        secret_key=secrets.token_urlsafe(50),
        fingerprint_key=secrets.token_bytes(32),
    )
    doc = {
        "version": FORMAT_VERSION,
        "secret_key": material.secret_key,
        "fingerprint_key": material.fingerprint_key.hex(),
    }
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # O_EXCL: never overwrite keys, which would make existing data unreadable.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyFileError(f"Un fichier de clés existe déjà : {path}.") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh)
    if os.name != "nt":
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return material


def load_or_create(path: Path) -> KeyMaterial:
    if path.exists():
        return load(path)
    return create(path)
