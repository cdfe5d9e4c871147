"""Backup archives: a tar stream encrypted in the age format (C2SP age spec, via pyrage).

An archive opens without Hygie: `age -d -i identity.txt hygie-backup-….age | tar -x`. Inside,
every member is followed at the end by MANIFEST.json (name, size and SHA-256 of every member)
and MANIFEST.sig (Ed25519 signature of the manifest by the journal's signing key). The tar is
streamed through a pipe into the age encryptor: nothing readable is ever written to disk.

Written to `.NAME.partial` first, fsynced, then renamed: a killed run never leaves a file that
looks like a finished backup.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tarfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pyrage
from pyrage import x25519

from hygie.lib import crypto

FORMAT = "hygie-backup"
VERSION = 1
MANIFEST = "MANIFEST.json"
SIGNATURE = "MANIFEST.sig"
PREFIX = "hygie-backup-"
SUFFIX = ".age"
# Domain separation: a manifest signature is never a journal checkpoint signature.
_CONTEXT = b"hygie-backup-manifest-v1\n"
_CHUNK = 1024 * 1024


class ArchiveError(Exception):
    """A backup cannot be read or does not check out. French message for the user."""


@dataclass(frozen=True)
class Member:
    """One file to put in the archive: its name inside, and where to read it."""

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


def archive_name(now: datetime | None = None) -> str:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{PREFIX}{now.strftime('%Y%m%dT%H%M%S%fZ')}{SUFFIX}"


def list_archives(directory: Path) -> list[Path]:
    """The finished archives of a directory, oldest first (names sort by time)."""
    return sorted(p for p in directory.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())


# --- Manifest ---------------------------------------------------------------------------------


def manifest_bytes(entries: list[dict], meta: dict) -> bytes:
    doc = {"format": FORMAT, "version": VERSION, **meta, "members": entries}
    return json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False).encode()


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


class _HashingReader(io.RawIOBase):
    def __init__(self, fh: BinaryIO, progress: Callable[[int], None]) -> None:
        self.fh = fh
        self.sha = hashlib.sha256()
        self.progress = progress

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.sha.update(data)
        self.progress(len(data))
        return data


def _add(tar: tarfile.TarFile, name: str, fh: BinaryIO, size: int, progress: Callable[[int], None]) -> str:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    reader = _HashingReader(fh, progress)
    tar.addfile(info, reader)  # type: ignore[arg-type]
    return reader.sha.hexdigest()


def write(
    directory: Path,
    members: Iterable[Member],
    *,
    recipients: list[str],
    signing_key: bytes,
    meta: dict,
    progress: Callable[[int], None] = lambda n: None,
    between_members: Callable[[], None] = lambda: None,
) -> Path:
    """Write a new archive in `directory` and return its path. On any error the partial file
    is removed and the error raised again (OSError for the disk, ArchiveError otherwise)."""
    age_recipients = _recipients(recipients)
    final = directory / archive_name()
    partial = directory / f".{final.name}.partial"
    out = open(partial, "xb")  # noqa: SIM115 - closed below, after fsync
    errors: list[BaseException] = []
    read_fd, write_fd = os.pipe()

    def encrypt() -> None:
        try:
            with os.fdopen(read_fd, "rb") as source:
                pyrage.encrypt_io(source, out, age_recipients)
        except BaseException as exc:  # reported by the writing thread
            errors.append(exc)

    worker = threading.Thread(target=encrypt, name="backup-encrypt", daemon=True)
    worker.start()
    try:
        try:
            with (
                os.fdopen(write_fd, "wb") as sink,
                tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar,
            ):
                entries = []
                for member in members:
                    size = member.path.stat().st_size
                    with open(member.path, "rb") as fh:
                        digest = _add(tar, member.name, fh, size, progress)
                    entries.append({"name": member.name, "size": size, "sha256": digest})
                    between_members()
                manifest = manifest_bytes(entries, meta)
                _add(tar, MANIFEST, io.BytesIO(manifest), len(manifest), progress)
                signature = sign(signing_key, manifest)
                _add(tar, SIGNATURE, io.BytesIO(signature), len(signature), progress)
        except BrokenPipeError:
            pass  # the encrypting thread stopped: its error says why
        worker.join()
        if errors:
            raise errors[0]
        out.flush()
        os.fsync(out.fileno())
        out.close()
        os.chmod(partial, 0o600)
        os.replace(partial, final)
        _fsync_dir(directory)
    except BaseException:
        worker.join(timeout=5)
        out.close()
        partial.unlink(missing_ok=True)
        raise
    return final


def _fsync_dir(directory: Path) -> None:
    if os.name == "nt":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- Reading ----------------------------------------------------------------------------------


@dataclass
class Checked:
    manifest: dict
    manifest_raw: bytes
    signature: bytes


@contextlib.contextmanager
def _decrypted_tar(path: Path, identity: str) -> Iterator[tarfile.TarFile]:
    ident = _identity(identity)
    errors: list[BaseException] = []
    tar_errors: list[BaseException] = []
    read_fd, write_fd = os.pipe()

    def decrypt() -> None:
        try:
            with open(path, "rb") as source, os.fdopen(write_fd, "wb") as sink:
                pyrage.decrypt_io(source, sink, [ident])
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=decrypt, name="backup-decrypt", daemon=True)
    worker.start()
    try:
        with os.fdopen(read_fd, "rb") as source:
            try:
                with tarfile.open(fileobj=source, mode="r|") as tar:
                    yield tar
                    # Drain: age authenticates the last chunk only once it is read in full.
                    while source.read(_CHUNK):
                        pass
            except tarfile.TarError:
                tar_errors.append(ArchiveError("structure tar illisible"))
    finally:
        worker.join()
    # The decryption error first: a truncated stream also breaks the tar.
    if errors or tar_errors:
        raise _read_error(path, (errors or tar_errors)[0])


def _read_error(path: Path, exc: BaseException) -> ArchiveError:
    if isinstance(exc, ArchiveError):
        return ArchiveError(f"Sauvegarde corrompue : {path} ({exc}).")
    if isinstance(exc, FileNotFoundError):
        return ArchiveError(f"Sauvegarde introuvable : {path}.")
    if isinstance(exc, OSError) and exc.errno is not None:  # pyrage reports a bad chunk as a bare OSError
        return ArchiveError(f"Sauvegarde illisible : {path} ({exc.strerror}).")
    text = str(exc).lower()
    if "no matching" in text or "identity" in text and "header" not in text:
        return ArchiveError(
            f"Sauvegarde {path} : l'identité de sauvegarde ne l'ouvre pas (autre cabinet, ou fichier altéré)."
        )
    return ArchiveError(f"Sauvegarde corrompue ou altérée : {path} (déchiffrement age refusé).")


def read(
    path: Path,
    identity: str,
    *,
    extract_to: Path | None = None,
    progress: Callable[[int], None] = lambda n: None,
) -> Checked:
    """Decrypt and check every member hash against the manifest (and, if `extract_to`, write
    the members under it). The signature is returned for the caller to check with the right
    public key. Raises ArchiveError naming the archive."""
    seen: dict[str, tuple[int, str]] = {}
    manifest_raw = b""
    signature = b""
    with _decrypted_tar(path, identity) as tar:
        for info in tar:
            if not info.isfile() or info.name.startswith("/") or ".." in Path(info.name).parts:
                raise ArchiveError(f"Sauvegarde {path} : membre inattendu « {info.name} ».")
            source = tar.extractfile(info)
            assert source is not None
            if info.name in (MANIFEST, SIGNATURE):
                data = source.read()
                if info.name == MANIFEST:
                    manifest_raw = data
                else:
                    signature = data
                continue
            sha = hashlib.sha256()
            size = 0
            target = None
            if extract_to is not None:
                dest = extract_to / info.name
                dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                target = os.fdopen(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
            try:
                while chunk := source.read(_CHUNK):
                    sha.update(chunk)
                    size += len(chunk)
                    progress(len(chunk))
                    if target is not None:
                        target.write(chunk)
            finally:
                if target is not None:
                    target.close()
            seen[info.name] = (size, sha.hexdigest())
    if not manifest_raw or not signature:
        raise ArchiveError(f"Sauvegarde incomplète : {path} (manifeste ou signature absent).")
    try:
        manifest = json.loads(manifest_raw)
        listed = {m["name"]: (int(m["size"]), str(m["sha256"])) for m in manifest["members"]}
        if manifest.get("format") != FORMAT:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise ArchiveError(f"Sauvegarde {path} : manifeste illisible.") from None
    for name in sorted(set(listed) | set(seen)):
        if listed.get(name) != seen.get(name):
            raise ArchiveError(f"Sauvegarde {path} : le membre « {name} » ne correspond pas au manifeste.")
    return Checked(manifest, manifest_raw, signature)
