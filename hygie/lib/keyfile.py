"""The key file: secret material kept outside the data directory.

It is a small JSON document, readable by its owner only (0600). It holds:
- the Django secret key (session signing, CSRF);
- the identity fingerprint key (duplicate detection at import);
- the master keys (KEKs) that wrap each patient's data key, by key id, and which one is primary;
- the data root key, from which the blind-index key and the secrets key (TOTP) are derived.

Version 1 files (secret and fingerprint keys only) are upgraded in place on load: the new keys
are added, nothing is changed or removed.

Version 3 is the passphrase mode ("protected" file): the fingerprint key, the master keys and the
data root key are sealed (AES-256-GCM) under a key derived from a passphrase with scrypt (random
salt, parameters stored in the file). Only the Django secret key (sessions, CSRF: no patient data)
and the ids of the master keys stay readable, so that a locked server can start, show its unlock
page and check that the file belongs to its database. Plain version 2 files keep working.
See docs/encryption.md, « Mode phrase de passe ».
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
from typing import Any

from hygie.lib import crypto

FORMAT_VERSION = 2
PROTECTED_VERSION = 3
_KNOWN_VERSIONS = {1, 2, 3}

# scrypt for a new passphrase: 128 MiB and about 0.3 s per try on a small server (the
# parameters OWASP recommends); each try of an attacker costs the same.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
# Accepted when reading: not weaker than the floor of RFC 7914's interactive use, not so large
# that a doctored file could exhaust the memory of the server.
_SCRYPT_N_RANGE = (2**14, 2**20)
_SALT_SIZE = 16
_SEAL_AD = b"hygie:keyfile:v3\x1f"


class KeyFileError(Exception):
    """The key file is missing, unreadable or malformed. French message for the user."""


@dataclass(frozen=True)
class Header:
    """What a key file tells without its passphrase."""

    secret_key: str = field(repr=False)
    primary_kek: str = ""
    kek_ids: tuple[str, ...] = ()
    protected: bool = False


class KeyFileLocked(KeyFileError):
    """The key file is protected by a passphrase, and none (or a stale one) was given."""

    def __init__(self, message: str, header: Header) -> None:
        super().__init__(message)
        self.header = header


class WrongPassphrase(KeyFileLocked):
    """The passphrase does not open the key file (or the file was altered)."""


@dataclass(frozen=True)
class Protection:
    """The key derived from the passphrase, with its salt and scrypt parameters.

    Kept in memory only, with the keys it opened: a rotation re-seals the file under the same
    passphrase without asking it again. Never written anywhere.
    """

    key: bytes = field(repr=False)
    salt: bytes
    n: int
    r: int
    p: int

    @classmethod
    def derive(
        cls, passphrase: str, *, salt: bytes | None = None, n: int | None = None, r: int = SCRYPT_R, p: int = SCRYPT_P
    ) -> Protection:
        salt = os.urandom(_SALT_SIZE) if salt is None else salt
        n = SCRYPT_N if n is None else n
        return cls(crypto.scrypt_key(passphrase, salt, n=n, r=r, p=p), salt, n, r, p)

    def params(self) -> dict[str, Any]:
        return {"name": "scrypt", "salt": self.salt.hex(), "n": self.n, "r": self.r, "p": self.p}


@dataclass(frozen=True)
class KeyMaterial:
    secret_key: str
    fingerprint_key: bytes
    # Master keys by id (crypto.aead_key_id), and the id of the one that wraps new data keys.
    keks: dict[str, bytes] = field(default_factory=dict)
    primary_kek: str = ""
    data_root_key: bytes = b""
    # Set when the file is (to be) sealed under a passphrase: written protected, version 3.
    protection: Protection | None = field(default=None, compare=False)

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


def _secret_part(material: KeyMaterial) -> dict[str, Any]:
    return {
        "fingerprint_key": material.fingerprint_key.hex(),
        "data_root_key": material.data_root_key.hex(),
        "keks": {kid: key.hex() for kid, key in material.keks.items()},
    }


def _seal_ad(doc: dict[str, Any]) -> bytes:
    """Everything readable in a protected file is authenticated with the sealed part."""
    clear = {k: v for k, v in doc.items() if k != "sealed"}
    return _SEAL_AD + json.dumps(clear, sort_keys=True, separators=(",", ":")).encode()


def _to_doc(material: KeyMaterial) -> dict[str, Any]:
    if material.protection is None:
        return {
            "version": FORMAT_VERSION,
            "secret_key": material.secret_key,
            **_secret_part(material),
            "primary_kek": material.primary_kek,
        }
    doc = {
        "version": PROTECTED_VERSION,
        "secret_key": material.secret_key,
        "primary_kek": material.primary_kek,
        "kek_ids": sorted(material.keks),
        "kdf": material.protection.params(),
    }
    plaintext = json.dumps(_secret_part(material)).encode()
    doc["sealed"] = crypto.AeadKey(material.protection.key).encrypt(plaintext, _seal_ad(doc)).hex()
    return doc


def _header(doc: dict[str, Any]) -> Header:
    if doc["version"] == PROTECTED_VERSION:
        kek_ids = tuple(str(k) for k in doc["kek_ids"])
    else:
        kek_ids = tuple(str(k) for k in doc.get("keks", {}))
    return Header(
        secret_key=str(doc["secret_key"]),
        primary_kek=str(doc.get("primary_kek", "")),
        kek_ids=kek_ids,
        protected=doc["version"] == PROTECTED_VERSION,
    )


def _kdf_params(doc: dict[str, Any]) -> tuple[bytes, int, int, int]:
    kdf = doc["kdf"]
    salt, n, r, p = bytes.fromhex(kdf["salt"]), int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
    low, high = _SCRYPT_N_RANGE
    if kdf["name"] != "scrypt" or not (low <= n <= high and n & (n - 1) == 0 and 8 <= r <= 32 and 1 <= p <= 16):
        raise ValueError("unsupported key derivation parameters")
    if len(salt) < _SALT_SIZE:
        raise ValueError("salt too short")
    return salt, n, r, p


def _open_sealed(
    doc: dict[str, Any], path: Path, passphrase: str | None, protection: Protection | None
) -> tuple[dict[str, Any], Protection]:
    """The sealed part of a protected file, and the protection that opened it."""
    header = _header(doc)
    salt, n, r, p = _kdf_params(doc)
    same = protection is not None and (protection.salt, protection.n, protection.r, protection.p) == (salt, n, r, p)
    if passphrase is None and not same:
        raise KeyFileLocked(
            f"Le fichier de clés {path} est protégé par une phrase de passe : déverrouillez Hygie "
            "(hygie serve --unlock, ou la page de déverrouillage du serveur).",
            header,
        )
    if passphrase is not None:
        protection = Protection.derive(passphrase, salt=salt, n=n, r=r, p=p)
    assert protection is not None
    try:
        plaintext = crypto.AeadKey(protection.key).decrypt(bytes.fromhex(doc["sealed"]), _seal_ad(doc))
    except crypto.DecryptionError:
        raise WrongPassphrase("Phrase de passe incorrecte.", header) from None
    return json.loads(plaintext), protection


def _from_doc(
    doc: dict[str, Any], secret: dict[str, Any] | None = None, protection: Protection | None = None
) -> KeyMaterial:
    """Key material from a plain document, or from a protected one and its opened sealed part."""
    if secret is not None:
        doc = {**doc, **secret}
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
        protection=protection,
    )
    if secret is not None and (sorted(keks) != sorted(doc["kek_ids"])):
        raise ValueError("readable key ids do not match the sealed keys")
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


def _read_doc(path: Path) -> dict[str, Any]:
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
    except ValueError:
        raise KeyFileError(f"Fichier de clés endommagé : {path}.") from None
    if not isinstance(doc, dict):
        raise KeyFileError(f"Fichier de clés endommagé : {path}.")
    if doc.get("version") not in _KNOWN_VERSIONS:
        raise KeyFileError(f"Version du fichier de clés non reconnue : {path}.")
    return doc


def read_header(path: Path) -> Header:
    """The readable part of a key file, plain or protected: no passphrase needed."""
    doc = _read_doc(path)
    try:
        return _header(doc)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise KeyFileError(f"Fichier de clés endommagé : {path}.") from None


def is_protected(path: Path) -> bool:
    return read_header(path).protected


def load(
    path: Path, *, upgrade: bool = True, passphrase: str | None = None, protection: Protection | None = None
) -> KeyMaterial:
    """The keys of the file. A protected file needs its passphrase, or the protection that
    opened it before (a server re-reading the file after a rotation); otherwise KeyFileLocked,
    and WrongPassphrase for a wrong one. Both are ignored for a plain file."""
    doc = _read_doc(path)
    try:
        if doc["version"] == PROTECTED_VERSION:
            secret, opened = _open_sealed(doc, path, passphrase, protection)
            material = _from_doc(doc, secret, opened)
        else:
            material = _from_doc(doc)
    except KeyFileError:
        raise
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
