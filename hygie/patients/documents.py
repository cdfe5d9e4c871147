"""Where document files live: encrypted blobs under settings.DOCUMENTS_DIR, one per document.

A small API: `save_stream` (sniff, size-check, hash, encrypt, store atomically), `open_blob`
(a reader that decrypts as it goes), `delete_blob`. Blob names are random and say nothing of
the patient or the document.

Each blob is sealed with its own random file key, in segments of 64 KiB (streaming AEAD,
hygie.lib.crypto.StreamEncryptor): a 200 MB scan is never whole in memory, and a truncated,
reordered or altered blob does not decrypt. The file key is wrapped by the patient's data
key, bound to the blob's name and the patient: erasing the patient's data key makes the blob
unreadable. Blob layout:

    "HYGD" | version (1) | length of wrapped key (2) | wrapped file key | stream prefix (7) | segments

The type of a file is judged from its first bytes only, never from its name or from the
content type the browser sent: a renamed executable stays an executable.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.utils.translation import gettext as _

from hygie.keys import service
from hygie.lib import crypto

CHUNK_SIZE = 64 * 1024
# Enough bytes to recognise every accepted type (WebP needs 12).
_HEAD_SIZE = 16
_NAME = re.compile(r"^[0-9a-f]{32}$")

# Accepted types: PDF and common images. Extensions only name downloads.
EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/tiff": ".tif",
}


class DocumentError(Exception):
    """A refused file. The message is French, for the user."""


class UnsupportedType(DocumentError):
    pass


class TooLarge(DocumentError):
    pass


@dataclass(frozen=True)
class StoredBlob:
    storage_name: str
    size: int
    sha256: str
    content_type: str


def sniff(head: bytes) -> str | None:
    """The content type of a file from its first bytes, or None if it is not accepted."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    return None


def max_bytes() -> int:
    return settings.UPLOAD_MAX_MB * 1024 * 1024


def too_large_message() -> str:
    return _("Le fichier dépasse la taille maximale autorisée (%(max)s Mo).") % {"max": settings.UPLOAD_MAX_MB}


def unsupported_message() -> str:
    return _("Seuls les fichiers PDF et les images (PNG, JPEG, GIF, WebP, TIFF) sont acceptés.")


def _directory() -> Path:
    directory = Path(settings.DOCUMENTS_DIR)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory


def _path(storage_name: str) -> Path:
    # Names come from the database, but a path is never built from anything unchecked.
    if not _NAME.match(storage_name):
        raise ValueError("invalid storage name")
    return _directory() / storage_name


def _read_head(fileobj: BinaryIO) -> bytes:
    head = b""
    while len(head) < _HEAD_SIZE:
        chunk = fileobj.read(_HEAD_SIZE - len(head))
        if not chunk:
            break
        head += chunk
    return head


_MAGIC = b"HYGD"
_VERSION = 1


class BlobError(Exception):
    """A stored blob is damaged, truncated, or not this patient's."""


def _file_key_ad(storage_name: str, patient_uuid: str) -> bytes:
    return b"hygie:document-key\x1f" + storage_name.encode() + b"\x1f" + str(patient_uuid).encode()


def save_stream(fileobj: BinaryIO, *, patient: Any, limit: int | None = None) -> StoredBlob:
    """Store the content of `fileobj` encrypted for `patient`, read in chunks, and describe it.

    Written to a temporary file in the documents directory, then renamed: a blob is either
    complete or absent. Raises UnsupportedType or TooLarge, leaving nothing behind.
    """
    limit = max_bytes() if limit is None else limit
    with contextlib.suppress(AttributeError, OSError):
        fileobj.seek(0)
    head = _read_head(fileobj)
    content_type = sniff(head)
    if content_type is None:
        raise UnsupportedType(unsupported_message())

    directory = _directory()
    storage_name = secrets.token_hex(16)
    dek = service.data_key(patient.pk)
    file_key = crypto.random_key()
    wrapped = dek.key.encrypt(file_key, _file_key_ad(storage_name, dek.patient_uuid))
    prefix = secrets.token_bytes(crypto.STREAM_PREFIX_SIZE)
    header = _MAGIC + bytes([_VERSION]) + len(wrapped).to_bytes(2, "big") + wrapped + prefix
    sealer = crypto.StreamEncryptor(file_key, prefix, header)
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=".upload-")  # created 0600
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            out.write(header)
            chunk = head
            while chunk:
                size += len(chunk)
                if size > limit:
                    raise TooLarge(too_large_message())
                digest.update(chunk)
                out.write(sealer.update(chunk))
                chunk = fileobj.read(CHUNK_SIZE)
            out.write(sealer.finalize())
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp_name, 0o600)
        os.replace(tmp_name, directory / storage_name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return StoredBlob(storage_name=storage_name, size=size, sha256=digest.hexdigest(), content_type=content_type)


class _DecryptingReader(io.RawIOBase):
    """A read-only file whose bytes are decrypted segment by segment from the blob."""

    def __init__(self, raw: BinaryIO, segments: Iterator[bytes]) -> None:
        self._raw = raw
        self._segments = segments
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._segments)
            except StopIteration:
                return 0
            except crypto.DecryptionError as exc:
                raise BlobError(str(exc)) from None
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_blob(storage_name: str, *, patient: Any) -> BinaryIO:
    """The stored content of `patient`'s blob, decrypted while it is read.

    FileNotFoundError if the blob is missing; BlobError (at open or while reading) if it is
    damaged, truncated, reordered or belongs to another patient."""
    raw = _path(storage_name).open("rb")
    try:
        fixed = raw.read(len(_MAGIC) + 3)
        if len(fixed) != len(_MAGIC) + 3 or fixed[:4] != _MAGIC or fixed[4] != _VERSION:
            raise BlobError("not an encrypted document")
        wrapped = raw.read(int.from_bytes(fixed[5:7], "big"))
        prefix = raw.read(crypto.STREAM_PREFIX_SIZE)
        dek = service.data_key(patient.pk)
        try:
            file_key = dek.key.decrypt(wrapped, _file_key_ad(storage_name, dek.patient_uuid))
        except crypto.DecryptionError as exc:
            raise BlobError(str(exc)) from None
        header = fixed + wrapped + prefix
        segments = crypto.stream_decrypt(file_key, prefix, header, raw.read)
    except BaseException:
        raw.close()
        raise
    return io.BufferedReader(_DecryptingReader(raw, segments), buffer_size=crypto.SEGMENT_SIZE)  # type: ignore[return-value]


def delete_blob(storage_name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        _path(storage_name).unlink()


def extension(content_type: str) -> str:
    return EXTENSIONS.get(content_type, "")
