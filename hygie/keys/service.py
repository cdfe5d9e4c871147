"""The key hierarchy at run time: master keys from the key file, one data key per patient.

    key file ──▶ KEKs (keyring by id) ──wraps──▶ PatientKey.wrapped ──▶ DEK of one patient
             └─▶ data root key ──HKDF──▶ blind-index key, secrets key (TOTP, recovery codes)

Unwrapped data keys are cached per thread for the length of one request (or of a command),
never written anywhere. Everything that needs a key comes here; only hygie.lib.crypto
touches the primitives.

Passphrase mode: when the key file is protected, this process starts *locked*: every call that
needs a key raises KeysLocked until `unlock(passphrase)` (terminal prompt of `hygie serve
--unlock`, or the unlock page). The keys then live in this process's memory only — never in the
database, the cache or a file — and each process of the practice is unlocked on its own.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from hygie.lib import crypto, keyfile

_BLIND_INFO = b"hygie blind index v1"
_SECRETS_INFO = b"hygie secrets v1"
# Unwrapped data keys kept at most, per thread (a command that walks the whole practice).
_CACHE_MAX = 20_000


class KeysUnavailable(RuntimeError):
    """The key file is missing or unreadable: no patient data can be read or written."""


class KeysLocked(KeysUnavailable):
    """The key file is protected by a passphrase and this process is not unlocked yet."""


LOCKED_MESSAGE = (
    "Hygie est verrouillé : les clés de chiffrement sont protégées par une phrase de passe. "
    "Déverrouillez-le (hygie serve --unlock, ou la page de déverrouillage) pour accéder aux données des patients."
)


class MissingDataKey(RuntimeError):
    """This patient has no data key: erased, or not created through the model."""


@dataclass(frozen=True)
class DataKey:
    key: crypto.AeadKey
    patient_uuid: str


class _State:
    lock = threading.Lock()
    path: Path | None = None
    mtime: int | None = None
    material: keyfile.KeyMaterial | None = None
    keyring: crypto.Keyring | None = None
    blind_key: bytes = b""
    secrets_key: crypto.AeadKey | None = None
    # Passphrase mode: the key derived from the passphrase (to re-read a rotated file), and
    # whether the file was found protected with nothing to open it.
    protection: keyfile.Protection | None = None
    locked: bool = False


_local = threading.local()


def _key_path() -> Path:
    return Path(settings.KEY_FILE).expanduser()


def _load(path: Path) -> None:
    try:
        mtime = path.stat().st_mtime_ns
        material = keyfile.load(path, protection=_State.protection)
    except keyfile.KeyFileLocked as exc:
        current = _State.material
        same_keys = current is not None and (exc.header.primary_kek, set(exc.header.kek_ids)) == (
            current.primary_kek,
            set(current.keks),
        )
        if same_keys:
            # Same keys, sealed anew (`hygie keys protect` while running): keep them.
            _State.path, _State.mtime = path, mtime
            return
        _forget()
        _State.locked = True
        _State.path, _State.mtime = path, mtime
        raise KeysLocked(LOCKED_MESSAGE) from None
    except (OSError, keyfile.KeyFileError) as exc:
        raise KeysUnavailable(str(exc)) from None
    _install(material, path, mtime)


def _forget() -> None:
    _State.material = _State.keyring = _State.secrets_key = _State.protection = None
    _State.path = _State.mtime = None
    _State.blind_key = b""
    _State.locked = False


def _install(material: keyfile.KeyMaterial, path: Path, mtime: int) -> None:
    _State.locked = False
    _State.protection = material.protection
    _State.material = material
    _State.keyring = crypto.Keyring({kid: crypto.AeadKey(k) for kid, k in material.keks.items()}, material.primary_kek)
    _State.blind_key = crypto.derive_key(material.data_root_key, _BLIND_INFO)
    _State.secrets_key = crypto.AeadKey(crypto.derive_key(material.data_root_key, _SECRETS_INFO))
    _State.path, _State.mtime = path, mtime


def reload_if_changed() -> None:
    """Re-read the key file if it changed (a rotation by `hygie keys rotate`): a stat per call."""
    path = _key_path()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = None
    if path == _State.path and mtime == _State.mtime:
        if _State.material is not None:
            return
        if _State.locked:
            raise KeysLocked(LOCKED_MESSAGE)
    with _State.lock:
        _load(path)


def reset() -> None:
    """Forget every loaded key (tests, after the key file was replaced)."""
    with _State.lock:
        _forget()
    clear_cache()


def refresh() -> None:
    """Re-read the key file at the next use, still opened with the passphrase this process was
    unlocked with (after this process rewrote the file: a rotation)."""
    with _State.lock:
        kept = _State.protection
        _forget()
        _State.protection = kept
    clear_cache()


def lock() -> None:
    """Forget the keys and the passphrase-derived key of this process. With a protected key
    file, the process is locked again until the next `unlock` (with a plain one, the keys are
    simply read again from the file)."""
    reset()


def is_locked() -> bool:
    """True when the key file is protected and this process has not been unlocked. A stat of
    the key file per call once loaded; any other key problem is reported where keys are used."""
    try:
        reload_if_changed()
    except KeysLocked:
        return True
    except KeysUnavailable:
        return False
    return False


def unlock(passphrase: str) -> keyfile.KeyMaterial:
    """Open the protected key file with its passphrase; the keys stay in this process's memory.

    Raises keyfile.WrongPassphrase. With a plain key file, just loads it."""
    path = _key_path()
    try:
        mtime = path.stat().st_mtime_ns
        # scrypt (about 0.3 s) outside the lock: requests keep being answered meanwhile.
        material = keyfile.load(path, passphrase=passphrase)
    except keyfile.WrongPassphrase:
        raise
    except (OSError, keyfile.KeyFileError) as exc:
        raise KeysUnavailable(str(exc)) from None
    with _State.lock:
        _install(material, path, mtime)
    clear_cache()
    return material


def protection() -> keyfile.Protection | None:
    """The passphrase-derived key this process was unlocked with (None for a plain file)."""
    material()
    return _State.protection


def header() -> keyfile.Header:
    """What the key file tells without its passphrase (ids of the master keys)."""
    try:
        return keyfile.read_header(_key_path())
    except keyfile.KeyFileError as exc:
        raise KeysUnavailable(str(exc)) from None


def fingerprint_key() -> bytes:
    """The identity fingerprint key: sealed with the other keys in passphrase mode."""
    return settings.HYGIE_FINGERPRINT_KEY or material().fingerprint_key


def material() -> keyfile.KeyMaterial:
    if _State.material is None:
        reload_if_changed()
    assert _State.material is not None
    return _State.material


def keyring() -> crypto.Keyring:
    material()
    assert _State.keyring is not None
    return _State.keyring


def blind_key() -> bytes:
    material()
    return _State.blind_key


def secrets_key() -> crypto.AeadKey:
    material()
    assert _State.secrets_key is not None
    return _State.secrets_key


# --- Data keys ---------------------------------------------------------------------------

def _cache() -> dict[int, DataKey]:
    cache = getattr(_local, "deks", None)
    if cache is None:
        cache = _local.deks = {}
    return cache


def clear_cache() -> None:
    _local.deks = {}


def on_request_started(**kwargs: Any) -> None:
    clear_cache()
    # A locked process still answers: hygie.keys.middleware shows the unlock page.
    with contextlib.suppress(KeysLocked):
        reload_if_changed()


def on_request_finished(**kwargs: Any) -> None:
    clear_cache()


def wrap_ad(patient_uuid: str) -> bytes:
    return b"hygie:patient-key\x1f" + str(patient_uuid).encode()


def unwrap(wrapped: bytes, patient_uuid: str) -> crypto.AeadKey:
    ring = keyring()
    try:
        kid = crypto.ciphertext_key_id(wrapped)
        if kid not in ring.keys:
            # A rotation may have added a master key since this process loaded the file.
            reload_if_changed()
            ring = keyring()
        return crypto.AeadKey(ring.decrypt(wrapped, wrap_ad(patient_uuid)))
    except crypto.DecryptionError as exc:
        raise crypto.DecryptionError(f"cannot unwrap the data key: {exc}") from None


def new_data_key(patient_uuid: str) -> tuple[DataKey, str, bytes]:
    """A fresh DEK for a patient: (the key, the id of the KEK that wraps it, the wrapped key)."""
    raw = crypto.random_key()
    ring = keyring()
    wrapped = ring.encrypt(raw, wrap_ad(patient_uuid))
    return DataKey(crypto.AeadKey(raw), str(patient_uuid)), ring.primary.key_id, wrapped


def remember(patient_pk: int, dek: DataKey) -> None:
    cache = _cache()
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[patient_pk] = dek


def forget(patient_pk: int) -> None:
    _cache().pop(patient_pk, None)


def prefetch(patient_pks: Any) -> None:
    """Unwrap the data keys of these patients in one query (for a page of rows)."""
    from hygie.keys.models import PatientKey

    cache = _cache()
    missing = sorted({pk for pk in patient_pks if pk is not None and pk not in cache})
    for start in range(0, len(missing), 900):  # SQLite's limit of bound parameters
        rows = PatientKey.objects.filter(patient_id__in=missing[start : start + 900]).values_list(
            "patient_id", "wrapped", "patient__public_id"
        )
        for pk, wrapped, uuid in rows:
            remember(pk, DataKey(unwrap(bytes(wrapped), str(uuid)), str(uuid)))


def remember_wrapped(patient_pk: int, patient_uuid: str, wrapped: bytes) -> DataKey:
    """Unwrap a data key read along with its patient's row (EncryptedQuerySet.with_keys, or a
    search's candidates): kept for the request like any other, and returned."""
    dek = _cache().get(patient_pk)
    if dek is None:
        dek = DataKey(unwrap(wrapped, patient_uuid), patient_uuid)
        remember(patient_pk, dek)
    return dek


def data_key(patient_pk: int) -> DataKey:
    dek = _cache().get(patient_pk)
    if dek is None:
        prefetch([patient_pk])
        dek = _cache().get(patient_pk)
        if dek is None:
            raise MissingDataKey(f"no data key for patient {patient_pk}")
    return dek


def save_new_keys(patients: Any) -> None:
    """Store the data keys of patients just created with bulk_create (save() does it otherwise)."""
    from hygie.keys.models import PatientKey

    rows = []
    for patient in patients:
        pending = patient.__dict__.pop("_hygie_new_key", None)
        if pending is not None:
            dek, kek_id, wrapped = pending
            rows.append(PatientKey(patient_id=patient.pk, kek_id=kek_id, wrapped=wrapped))
            remember(patient.pk, dek)
    PatientKey.objects.bulk_create(rows, batch_size=1000)


def erasure_file() -> Path:
    """Next to the key file, outside the data dir: a restored database must not bring back
    patients erased after its backup was taken."""
    return _key_path().parent / "erasures.jsonl"


def key_file_exists() -> bool:
    return os.path.exists(_key_path())
