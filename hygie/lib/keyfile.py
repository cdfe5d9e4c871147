"""The key file: secret material kept outside the data directory.

It is a small JSON document, readable by its owner only (0600). It holds:
- the Django secret key (session signing, CSRF);
- the identity fingerprint key (duplicate detection at import);
- the master keys (KEKs) that wrap each patient's data key, by key id, and which one is primary;
- the data root key, from which the blind-index key and the secrets key (TOTP) are derived.

Version 1 files (secret and fingerprint keys only) are upgraded in place on load: the new keys
are added, nothing is changed or removed. See docs/encryption.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from hygie.lib import crypto

FORMAT_VERSION = 2
_KNOWN_VERSIONS = {1, 2}


class KeyFileError(Exception):
    """The key file is missing, unreadable or malformed. French message for the user."""


@dataclass(frozen=True)
class KeyMaterial:
    secret_key: str
    fingerprint_key: bytes
    # Master keys by id (crypto.aead_key_id), and the id of the one that wraps new data keys.
    keks: dict[str, bytes] = field(default_factory=dict)
    primary_kek: str = ""
    data_root_key: bytes = b""

    def __repr__(self) -> str:  # never print keys
        return f"KeyMaterial(keks={sorted(self.keks)}, primary={self.primary_kek})"

    @property
    def kek(self) -> bytes:
        return self.keks[self.primary_kek]

    def with_kek(self, kek: bytes, *, primary: bool) -> KeyMaterial:
        kid = crypto.aead_key_id(kek)
        return replace(self, keks={**self.keks, kid: kek}, primary_kek=kid if primary else self.primary_kek)

    def without_kek(self, kid: str) -> KeyMaterial:
        if kid == self.primary_kek:
            raise ValueError("cannot remove the primary master key")
        return replace(self, keks={k: v for k, v in self.keks.items() if k != kid})


def default_key_file() -> Path:
    """Outside the data dir by default: the user's configuration directory."""
    if os.name == "nt":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "hygie" / "keys.json"


def _to_doc(material: KeyMaterial) -> dict:
    return {
        "version": FORMAT_VERSION,
        "secret_key": material.secret_key,
        "fingerprint_key": material.fingerprint_key.hex(),
        "data_root_key": material.data_root_key.hex(),
        "keks": {kid: key.hex() for kid, key in material.keks.items()},
        "primary_kek": material.primary_kek,
    }


def _from_doc(doc: dict) -> KeyMaterial:
    keks = {str(kid): bytes.fromhex(value) for kid, value in doc.get("keks", {}).items()}
    for kid, key in keks.items():
        if crypto.aead_key_id(key) != kid or len(key) != crypto.AEAD_KEY_SIZE:
            raise ValueError("master key does not match its id")
    material = KeyMaterial(
        secret_key=str(doc["secret_key"]),
        fingerprint_key=bytes.fromhex(doc["fingerprint_key"]),
        keks=keks,
        primary_kek=str(doc.get("primary_kek", "")),
        data_root_key=bytes.fromhex(doc.get("data_root_key", "")),
    )
    if doc["version"] >= 2 and (material.primary_kek not in keks or len(material.data_root_key) != 32):
        raise ValueError("incomplete version 2 key file")
    return material


def _upgraded(material: KeyMaterial) -> KeyMaterial:
    """Version 1 → 2: add a master key and a data root key."""
    kek = crypto.random_key()
    return replace(
        material,
        keks={crypto.aead_key_id(kek): kek},
        primary_kek=crypto.aead_key_id(kek),
        data_root_key=crypto.random_key(),
    )


def load(path: Path, *, upgrade: bool = True) -> KeyMaterial:
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
        if doc.get("version") not in _KNOWN_VERSIONS:
            raise KeyFileError(f"Version du fichier de clés non reconnue : {path}.")
        material = _from_doc(doc)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise KeyFileError(f"Fichier de clés endommagé : {path}.") from None
    if doc["version"] == 1 and upgrade:
        material = _upgraded(material)
        try:
            write(path, material)
        except OSError as exc:
            raise KeyFileError(
                f"Fichier de clés en version 1 impossible à mettre à jour : {path} ({exc.strerror})."
            ) from None
    return material


def write(path: Path, material: KeyMaterial) -> None:
    """Replace the key file atomically (temporary file in the same directory, then rename), 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keys-")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(_to_doc(material), fh)
            fh.flush()
            os.fsync(fh.fileno())
        if os.name != "nt":
            os.chmod(tmp, stat.S_IRUSR | stat.S_IWUSR)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def new_material() -> KeyMaterial:
    return _upgraded(KeyMaterial(secret_key=secrets.token_urlsafe(50), fingerprint_key=secrets.token_bytes(32)))


def create(path: Path, material: KeyMaterial | None = None) -> KeyMaterial:
    """Create a new key file with fresh random keys (or `material`, for a recovery).
    Refuses to overwrite an existing one."""
    material = material or new_material()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # O_EXCL: never overwrite keys, which would make existing data unreadable.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyFileError(f"Un fichier de clés existe déjà : {path}.") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(_to_doc(material), fh)
    if os.name != "nt":
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return material


def load_or_create(path: Path) -> KeyMaterial:
    if path.exists():
        return load(path)
    return create(path)
