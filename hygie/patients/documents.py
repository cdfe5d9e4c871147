"""Where document files live: blobs under settings.DOCUMENTS_DIR, one per document.

A small API so that encryption can later replace the plain blobs by encrypted chunks without
touching callers: `save_stream` (sniff, size-check, hash, store atomically), `open_blob`,
`delete_blob`. Blob names are random and say nothing of the patient or the document.

The type of a file is judged from its first bytes only, never from its name or from the
content type the browser sent: a renamed executable stays an executable.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext as _

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


def save_stream(fileobj: BinaryIO, *, limit: int | None = None) -> StoredBlob:
    """Store the content of `fileobj`, read in chunks, and describe it.

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
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=".upload-")  # created 0600
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            chunk = head
            while chunk:
                size += len(chunk)
                if size > limit:
                    raise TooLarge(too_large_message())
                digest.update(chunk)
                out.write(chunk)
                chunk = fileobj.read(CHUNK_SIZE)
            out.flush()
            os.fsync(out.fileno())
        storage_name = secrets.token_hex(16)
        os.chmod(tmp_name, 0o600)
        os.replace(tmp_name, directory / storage_name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return StoredBlob(storage_name=storage_name, size=size, sha256=digest.hexdigest(), content_type=content_type)


def open_blob(storage_name: str) -> BinaryIO:
    """The stored content, for reading. FileNotFoundError if the blob is missing."""
    return _path(storage_name).open("rb")


def delete_blob(storage_name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        _path(storage_name).unlink()


def extension(content_type: str) -> str:
    return EXTENSIONS.get(content_type, "")
