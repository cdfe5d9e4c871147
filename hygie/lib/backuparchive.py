"""Backup archives: tar streams encrypted in the age format (C2SP age spec, via pyrage).

Two kinds of archive, both opened without Hygie by `age -d -i identity.txt FILE | tar -x`:

- a **snapshot** `hygie-backup-<UTC time>.age`: MANIFEST.json and MANIFEST.sig first, then the
  database dump and the registers. The manifest lists those members (size, SHA-256), every
  document of the practice at that time (name, size, modification time, SHA-256, and the pack
  holding it), and the packs needed. Its place at the front lets a run read what a target
  already holds by decrypting a few kilobytes.
- a **pack** `packs/pack-<UTC time>-<random>.age`: document blobs (`documents/<name>`), then its
  own MANIFEST.json and MANIFEST.sig. A run writes only the documents no earlier snapshot of the
  target holds: an unchanged document is never sent twice.

Manifests are signed (Ed25519, the journal's signing key, with a domain-separation prefix).
The tar is streamed through a pipe into the age encryptor: nothing readable is ever written to
disk. Atomicity (a killed run leaves nothing that looks finished) is the store's job.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import secrets
import tarfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import pyrage
from pyrage import x25519

from hygie.lib import crypto

FORMAT = "hygie-backup"
VERSION = 2
MANIFEST = "MANIFEST.json"
SIGNATURE = "MANIFEST.sig"
PREFIX = "hygie-backup-"
SUFFIX = ".age"
PACK_DIR = "packs"
PACK_PREFIX = "pack-"
SNAPSHOT = "snapshot"
PACK = "pack"
# Domain separation: a manifest signature is never a journal checkpoint signature.
_CONTEXT = b"hygie-backup-manifest-v1\n"
_CHUNK = 1024 * 1024
_TIME = "%Y%m%dT%H%M%S%fZ"

Progress = Callable[[int], None]


def _no_progress(n: int) -> None:
    pass


class ArchiveError(Exception):
    """A backup cannot be read or does not check out. French message for the user."""


@dataclass(frozen=True)
class Member:
    """One file to put in an archive: its name inside, and where to read it."""

    name: str
    path: Path


# --- Identities -----------------------------------------------------------------------------


def generate_identity() -> tuple[str, str]:
    """(AGE-SECRET-KEY-1…, age1…): a new X25519 identity and its recipient."""
    identity = x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def recipient_of(identity: str) -> str:
    return str(_identity(identity).to_public())


def _identity(text: str) -> x25519.Identity:
    try:
        return x25519.Identity.from_str(text.strip())
    except Exception:  # pyrage raises its own IdentityError or ValueError
        raise ArchiveError("Identité de sauvegarde invalide (AGE-SECRET-KEY-1… attendu).") from None


def _recipients(recipients: Iterable[str]) -> list[x25519.Recipient]:
    out = []
    for text in recipients:
        try:
            out.append(x25519.Recipient.from_str(text.strip()))
        except Exception:
            raise ArchiveError(f"Destinataire de sauvegarde invalide : {text} (age1… attendu).") from None
    return out


# --- Names ------------------------------------------------------------------------------------


def snapshot_name(now: datetime | None = None) -> str:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{PREFIX}{now.strftime(_TIME)}{SUFFIX}"


def pack_name(now: datetime | None = None) -> str:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{PACK_DIR}/{PACK_PREFIX}{now.strftime(_TIME)}-{secrets.token_hex(4)}{SUFFIX}"


def is_snapshot(name: str) -> bool:
    return "/" not in name and name.startswith(PREFIX) and name.endswith(SUFFIX)


def is_pack(name: str) -> bool:
    path = PurePosixPath(name)
    return len(path.parts) == 2 and path.parts[0] == PACK_DIR and path.name.startswith(PACK_PREFIX)


def time_of(name: str) -> datetime | None:
    """The UTC time written in a snapshot or pack name."""
    stem = PurePosixPath(name).name.removesuffix(SUFFIX)
    stem = stem.removeprefix(PREFIX).removeprefix(PACK_PREFIX).split("-")[0]
    try:
        return datetime.strptime(stem, _TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


def snapshots(names: Iterable[str]) -> list[str]:
    """The snapshot names among a listing, oldest first (names sort by time)."""
    return sorted(n for n in names if is_snapshot(n) and time_of(n) is not None)


# --- Manifest ---------------------------------------------------------------------------------


def file_sha256(path: Path) -> tuple[int, str]:
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()


def manifest_bytes(kind: str, members: list[dict], meta: dict) -> bytes:
    doc = {"format": FORMAT, "version": VERSION, "kind": kind, **meta, "members": members}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(private_key: bytes, manifest: bytes) -> bytes:
    public = crypto.ed25519_public_key(private_key)
    doc = {"key_id": crypto.key_id(public), "signature": crypto.ed25519_sign(private_key, _CONTEXT + manifest).hex()}
    return json.dumps(doc).encode()


def check_signature(manifest: bytes, signature: bytes, public_key: bytes) -> bool:
    try:
        doc = json.loads(signature)
        return doc["key_id"] == crypto.key_id(public_key) and crypto.ed25519_verify(
            public_key, _CONTEXT + manifest, bytes.fromhex(doc["signature"])
        )
    except (ValueError, KeyError, TypeError):
        return False


# --- Writing ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _encrypting(sink: BinaryIO, recipients: list[str]) -> Iterator[BinaryIO]:
    """A file object whose bytes reach `sink` age-encrypted (pyrage in a thread, via a pipe).
    An error of the encryptor (full disk, unreachable server) is raised when the block exits."""
    age_recipients = _recipients(recipients)
    errors: list[BaseException] = []
    read_fd, write_fd = os.pipe()

    def encrypt() -> None:
        try:
            with os.fdopen(read_fd, "rb") as source:
                pyrage.encrypt_io(source, sink, age_recipients)
        except BaseException as exc:  # reported by the writing thread
            errors.append(exc)

    worker = threading.Thread(target=encrypt, name="backup-encrypt", daemon=True)
    worker.start()
    pipe = os.fdopen(write_fd, "wb", buffering=_CHUNK)
    try:
        try:
            yield pipe
            pipe.close()
        except BrokenPipeError:
            pass  # the encrypting thread stopped: its error says why
        finally:
            with contextlib.suppress(OSError):
                pipe.close()
            worker.join()
    except BaseException:
        if errors:
            raise errors[0] from None
        raise
    if errors:
        raise errors[0]


class _HashingReader(io.RawIOBase):
    def __init__(self, fh: BinaryIO, progress: Progress) -> None:
        self.fh = fh
        self.sha = hashlib.sha256()
        self.size = 0
        self.progress = progress

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.sha.update(data)
        self.size += len(data)
        self.progress(len(data))
        return data


def _add(tar: tarfile.TarFile, name: str, fh: BinaryIO, size: int, progress: Progress) -> str:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    reader = _HashingReader(fh, progress)
    tar.addfile(info, reader)  # type: ignore[arg-type]
    if reader.size != size:
        raise ArchiveError(f"Le fichier {name} a changé pendant la sauvegarde.")
    return reader.sha.hexdigest()


def _tar(sink: BinaryIO) -> tarfile.TarFile:
    return tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT, bufsize=_CHUNK)


@dataclass
class PackWritten:
    # name inside the pack -> (size, sha256); documents that vanished before being read are absent.
    members: dict[str, tuple[int, str]] = field(default_factory=dict)


def write_pack(
    sink: BinaryIO,
    members: Iterable[Member],
    *,
    recipients: list[str],
    signing_key: bytes,
    meta: dict,
    progress: Progress = _no_progress,
    between_members: Callable[[], None] = lambda: None,
) -> PackWritten:
    """Document blobs, then the signed manifest of what was written. A blob deleted since it
    was listed (a patient erased meanwhile) is skipped, not an error."""
    written = PackWritten()
    with _encrypting(sink, recipients) as pipe, _tar(pipe) as tar:
        for member in members:
            try:
                fh = open(member.path, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                continue
            with fh:
                size = os.fstat(fh.fileno()).st_size
                written.members[member.name] = (size, _add(tar, member.name, fh, size, progress))
            between_members()
        entries = [{"name": n, "size": s, "sha256": h} for n, (s, h) in written.members.items()]
        manifest = manifest_bytes(PACK, entries, meta)
        _add(tar, MANIFEST, io.BytesIO(manifest), len(manifest), _no_progress)
        signature = sign(signing_key, manifest)
        _add(tar, SIGNATURE, io.BytesIO(signature), len(signature), _no_progress)
    return written


def write_snapshot(
    sink: BinaryIO,
    members: list[tuple[Member, int, str]],
    *,
    recipients: list[str],
    signing_key: bytes,
    meta: dict,
    progress: Progress = _no_progress,
    between_members: Callable[[], None] = lambda: None,
) -> bytes:
    """The signed manifest first (members hashed beforehand by the caller: (member, size,
    sha256)), then the members, each hashed again as it is read and compared. Returns the
    manifest bytes."""
    entries = [{"name": m.name, "size": size, "sha256": digest} for m, size, digest in members]
    manifest = manifest_bytes(SNAPSHOT, entries, meta)
    signature = sign(signing_key, manifest)
    with _encrypting(sink, recipients) as pipe, _tar(pipe) as tar:
        _add(tar, MANIFEST, io.BytesIO(manifest), len(manifest), _no_progress)
        _add(tar, SIGNATURE, io.BytesIO(signature), len(signature), _no_progress)
        for member, size, digest in members:
            with open(member.path, "rb") as fh:
                if _add(tar, member.name, fh, size, progress) != digest:
                    raise ArchiveError(f"Le fichier {member.name} a changé pendant la sauvegarde.")
            between_members()
    return manifest


# --- Reading ----------------------------------------------------------------------------------


@dataclass
class Checked:
    manifest: dict
    manifest_raw: bytes
    signature: bytes
    # name -> (size, sha256) of every member read
    members: dict[str, tuple[int, str]]


class _Stop(Exception):
    """Raised inside the reading loop to stop early (manifest-only reads)."""


@contextlib.contextmanager
def _decrypted_tar(source: BinaryIO, identity: str, label: str, *, partial: bool = False) -> Iterator[tarfile.TarFile]:
    """The tar inside an age stream. `partial`: the caller stops before the end (it still gets
    only authenticated bytes: every age chunk is checked as it is decrypted)."""
    ident = _identity(identity)
    errors: list[BaseException] = []
    tar_errors: list[BaseException] = []
    read_fd, write_fd = os.pipe()
    stopped = threading.Event()

    def decrypt() -> None:
        try:
            with os.fdopen(write_fd, "wb", buffering=_CHUNK) as sink:
                pyrage.decrypt_io(source, sink, [ident])
        except BaseException as exc:
            if not (stopped.is_set() and isinstance(exc, OSError | ValueError)):
                errors.append(exc)

    worker = threading.Thread(target=decrypt, name="backup-decrypt", daemon=True)
    worker.start()
    try:
        with os.fdopen(read_fd, "rb", buffering=_CHUNK) as pipe:
            try:
                with tarfile.open(fileobj=pipe, mode="r|", bufsize=_CHUNK) as tar:
                    yield tar
                    if not partial:
                        # Drain: age authenticates the last chunk only once it is read in full.
                        while pipe.read(_CHUNK):
                            pass
            except tarfile.TarError:
                tar_errors.append(ArchiveError("structure tar illisible"))
            finally:
                if partial:
                    stopped.set()
    finally:
        worker.join()
    # The decryption error first: a truncated stream also breaks the tar.
    if errors or tar_errors:
        raise _read_error(label, (errors or tar_errors)[0])


def _read_error(label: str, exc: BaseException) -> ArchiveError:
    if isinstance(exc, ArchiveError):
        return ArchiveError(f"Sauvegarde corrompue : {label} ({exc}).")
    if isinstance(exc, OSError) and exc.errno is not None:  # pyrage reports a bad chunk as a bare OSError
        return ArchiveError(f"Sauvegarde illisible : {label} ({exc.strerror}).")
    text = str(exc).lower()
    if "no matching" in text or "identity" in text and "header" not in text:
        return ArchiveError(
            f"Sauvegarde {label} : l'identité de sauvegarde ne l'ouvre pas (autre cabinet, ou fichier altéré)."
        )
    return ArchiveError(f"Sauvegarde corrompue ou altérée : {label} (déchiffrement age refusé).")


def _safe_name(label: str, info: tarfile.TarInfo) -> None:
    if not info.isfile() or info.name.startswith("/") or ".." in PurePosixPath(info.name).parts:
        raise ArchiveError(f"Sauvegarde {label} : membre inattendu « {info.name} ».")


def read(
    source: BinaryIO,
    identity: str,
    *,
    label: str,
    extract_to: Path | None = None,
    select: Callable[[str], bool] = lambda name: True,
    progress: Progress = _no_progress,
) -> Checked:
    """Decrypt a snapshot or a pack and check every member against its manifest (and, with
    `extract_to`, write the members `select` accepts under it). The signature is returned for
    the caller to check with the right public key. Raises ArchiveError naming `label`."""
    seen: dict[str, tuple[int, str]] = {}
    manifest_raw = b""
    signature = b""
    with _decrypted_tar(source, identity, label) as tar:
        for info in tar:
            _safe_name(label, info)
            member = tar.extractfile(info)
            assert member is not None
            if info.name in (MANIFEST, SIGNATURE):
                data = member.read()
                if info.name == MANIFEST:
                    manifest_raw = data
                else:
                    signature = data
                continue
            if info.name in seen:
                raise ArchiveError(f"Sauvegarde {label} : membre « {info.name} » en double.")
            seen[info.name] = _copy(member, extract_to, info.name, select, progress)
    if not manifest_raw or not signature:
        raise ArchiveError(f"Sauvegarde incomplète : {label} (manifeste ou signature absent).")
    manifest = _parse(label, manifest_raw)
    listed = {m["name"]: (int(m["size"]), str(m["sha256"])) for m in manifest["members"]}
    for name in sorted(set(listed) | set(seen)):
        if listed.get(name) != seen.get(name):
            raise ArchiveError(f"Sauvegarde {label} : le membre « {name} » ne correspond pas au manifeste.")
    return Checked(manifest, manifest_raw, signature, seen)


def _copy(
    member: BinaryIO, extract_to: Path | None, name: str, select: Callable[[str], bool], progress: Progress
) -> tuple[int, str]:
    sha = hashlib.sha256()
    size = 0
    target = None
    if extract_to is not None and select(name):
        dest = extract_to.joinpath(*PurePosixPath(name).parts)
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = os.fdopen(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
    try:
        while chunk := member.read(_CHUNK):
            sha.update(chunk)
            size += len(chunk)
            progress(len(chunk))
            if target is not None:
                target.write(chunk)
    finally:
        if target is not None:
            target.close()
    return size, sha.hexdigest()


def _parse(label: str, raw: bytes) -> dict:
    try:
        manifest = json.loads(raw)
        if manifest.get("format") != FORMAT or not isinstance(manifest.get("members"), list):
            raise ValueError
        for m in manifest["members"]:
            int(m["size"]), str(m["sha256"]), str(m["name"])
        return manifest
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ArchiveError(f"Sauvegarde {label} : manifeste illisible.") from None


def read_manifest(source: BinaryIO, identity: str, *, label: str) -> tuple[dict, bytes, bytes]:
    """(manifest, raw, signature) of a snapshot, decrypting only its first members."""
    raw = b""
    signature = b""
    with _decrypted_tar(source, identity, label, partial=True) as tar:
        for info in tar:
            _safe_name(label, info)
            member = tar.extractfile(info)
            assert member is not None
            if info.name == MANIFEST:
                raw = member.read()
            elif info.name == SIGNATURE:
                signature = member.read()
            if raw and signature or info.name not in (MANIFEST, SIGNATURE):
                break
    if not raw or not signature:
        raise ArchiveError(f"Sauvegarde {label} : manifeste ou signature absent en tête d'archive.")
    return _parse(label, raw), raw, signature
