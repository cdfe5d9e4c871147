"""Document files: encrypted blobs, one per document, in the document store
(hygie.patients.blobstore: settings.DOCUMENTS_DIR by default, or S3-compatible object storage).

A small API: `BlobWriter` (start(patient) → write(chunk)… → finish(), or abort(): sniff,
size-check, encrypt and hash while the bytes arrive, store atomically), `save_stream` (a file
object through a BlobWriter), `open_blob` (a reader that decrypts as it goes), `delete_blob`.
Uploads go through the same writer while the request body is read (hygie.patients.uploads):
no plaintext copy of an upload is ever written. Blob names are random and say nothing of the
patient or the document.

Each blob is sealed with its own random file key, in segments of 64 KiB (streaming AEAD,
hygie.lib.crypto.StreamEncryptor): a 200 MB scan is never whole in memory, and a truncated,
reordered or altered blob does not decrypt. The store only ever receives sealed bytes. The
file key is wrapped by the patient's data key, bound to the blob's name and the patient:
erasing the patient's data key makes the blob unreadable. Blob layout:

    "HYGD" | version (1) | length of wrapped key (2) | wrapped file key | stream prefix (7) | segments

The type of a file is judged from its first bytes only, never from its name or from the
content type the browser sent: a renamed executable stays an executable.

`StoredBlob.sha256` is the SHA-256 of the stored blob (the ciphertext), never of the document:
a hash of the plaintext would let anyone holding a copy of a known document confirm that a
patient has it. The blob's hash still lets a backup or a disk check tell that a blob is the
one recorded, without any key; the content itself is authenticated by the AEAD.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from hygie.keys import service
from hygie.lib import crypto
from hygie.patients import blobstore

logger = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
# Enough bytes to recognise every accepted type (WebP needs 12).
_HEAD_SIZE = 16

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


class StorageUnavailable(DocumentError):
    """The document store could not be reached: nothing was saved."""


def unavailable_message() -> str:
    return _(
        "Le stockage des documents est momentanément injoignable : rien n'a été enregistré. "
        "Réessayez dans quelques minutes ; si cela persiste, prévenez l'administrateur."
    )


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    try:
        yield
    except blobstore.StoreUnavailable as exc:
        # The detail (which store, which operation, a random blob name) is for the operator.
        logger.error("document store: %s", exc)
        raise StorageUnavailable(unavailable_message()) from None


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


_MAGIC = b"HYGD"
_VERSION = 1


class BlobError(Exception):
    """A stored blob is damaged, truncated, or not this patient's."""


def _file_key_ad(storage_name: str, patient_uuid: str) -> bytes:
    return b"hygie:document-key\x1f" + storage_name.encode() + b"\x1f" + str(patient_uuid).encode()


class BlobWriter:
    """One encrypted blob being written, chunk by chunk, for one patient.

        writer = BlobWriter.start(patient)
        writer.write(chunk) …   # sniffs the type, enforces the limit, encrypts, hashes
        blob = writer.finish()  # or writer.abort(): nothing is left behind

    Written to the document store (header and sealed segments only, never plaintext): a
    temporary file renamed at the end, or a multipart upload completed at the end; a blob is
    either complete or absent. `write` and `finish` raise UnsupportedType, TooLarge or
    StorageUnavailable after deleting the partial blob. Memory use is one segment (local) or one
    upload part (object storage), whatever the size of the file.
    """

    def __init__(self, *, storage_name: str, header: bytes, sealer: crypto.StreamEncryptor, limit: int) -> None:
        self.storage_name = storage_name
        self._sealer = sealer
        self._limit = limit
        self._head = b""
        self._content_type: str | None = None
        self._size = 0
        self._digest = hashlib.sha256()
        with _store_errors():
            self._out: blobstore.BlobSink | None = blobstore.get_store().create(storage_name)
        try:
            self._emit(header)
        except BaseException:
            self.abort()
            raise

    @classmethod
    def start(cls, patient: Any, *, limit: int | None = None) -> BlobWriter:
        """A new blob for `patient`: a random name, a random file key wrapped by their data key."""
        storage_name = secrets.token_hex(16)
        dek = service.data_key(patient.pk)
        file_key = crypto.random_key()
        wrapped = dek.key.encrypt(file_key, _file_key_ad(storage_name, dek.patient_uuid))
        prefix = secrets.token_bytes(crypto.STREAM_PREFIX_SIZE)
        header = _MAGIC + bytes([_VERSION]) + len(wrapped).to_bytes(2, "big") + wrapped + prefix
        sealer = crypto.StreamEncryptor(file_key, prefix, header)
        return cls(
            storage_name=storage_name, header=header, sealer=sealer, limit=max_bytes() if limit is None else limit
        )

    def _emit(self, data: bytes) -> None:
        assert self._out is not None, "write after finish or abort"
        if data:
            try:
                with _store_errors():
                    self._out.write(data)
            except BaseException:
                self.abort()
                raise
            self._digest.update(data)

    def write(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._size += len(chunk)
        if self._size > self._limit:
            # Stop at the first byte over the limit: no more of the file is encrypted or stored.
            self.abort()
            raise TooLarge(too_large_message())
        if self._content_type is None:
            # The type is judged on the first bytes, which are held back until there are enough.
            self._head += chunk
            if len(self._head) < _HEAD_SIZE:
                return
            self._sniff()
            chunk, self._head = self._head, b""
        self._emit(self._sealer.update(chunk))

    def _sniff(self) -> None:
        self._content_type = sniff(self._head)
        if self._content_type is None:
            self.abort()
            raise UnsupportedType(unsupported_message())

    def finish(self) -> StoredBlob:
        if self._content_type is None:  # a file shorter than the sniffed head (or empty)
            self._sniff()
            self._emit(self._sealer.update(self._head))
            self._head = b""
        assert self._out is not None and self._content_type is not None
        try:
            self._emit(self._sealer.finalize())
            with _store_errors():
                self._out.commit()
        except BaseException:
            self.abort()
            raise
        self._out = None
        return StoredBlob(
            storage_name=self.storage_name,
            size=self._size,
            sha256=self._digest.hexdigest(),
            content_type=self._content_type,
        )

    def abort(self) -> None:
        """Delete the partial blob. Harmless if already finished or aborted."""
        out, self._out = self._out, None
        if out is not None:
            out.abort()
        self._head = b""


def save_stream(fileobj: BinaryIO, *, patient: Any, limit: int | None = None) -> StoredBlob:
    """Store the content of `fileobj` encrypted for `patient`, read in chunks, and describe it.

    An upload already sealed while it arrived (a SealedUpload, see hygie.patients.uploads) is
    adopted as it is, never decrypted and copied. Raises UnsupportedType or TooLarge, leaving
    nothing behind.
    """
    limit = max_bytes() if limit is None else limit
    if isinstance(fileobj, SealedUpload):
        return fileobj.adopt(patient, limit)
    with contextlib.suppress(AttributeError, OSError):
        fileobj.seek(0)
    writer = BlobWriter.start(patient, limit=limit)
    try:
        while chunk := fileobj.read(CHUNK_SIZE):
            writer.write(chunk)
        return writer.finish()
    except BaseException:
        writer.abort()
        raise


class SealedUpload(UploadedFile):
    """An uploaded file that was encrypted into its blob while the request body was read.

    For forms, it reads like any upload (decrypting the blob from the start); save_stream
    adopts its blob. Whoever received it deletes the blob unless a Document row keeps it
    (hygie.patients.uploads.EncryptingUploadHandler.cleanup).
    """

    def __init__(
        self,
        blob: StoredBlob,
        *,
        patient: Any,
        name: str,
        charset: str | None = None,
        content_type_extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            file=None,
            name=name,
            content_type=blob.content_type,
            size=blob.size,
            charset=charset,
            content_type_extra=content_type_extra,
        )
        self.blob = blob
        self.patient = patient
        self._reader: BinaryIO | None = None

    def adopt(self, patient: Any, limit: int) -> StoredBlob:
        if patient.pk != self.patient.pk:
            # The file key is wrapped by this patient's data key: it cannot move to another one.
            raise ValueError("an upload sealed for another patient")
        if self.blob.size > limit:
            raise TooLarge(too_large_message())
        self.close()
        return self.blob

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if self._reader is None:
            self._reader = open_blob(self.blob.storage_name, patient=self.patient)
        return self._reader.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:  # type: ignore[override]
        # Only a rewind (what forms and chunks() do): the blob decrypts from its start.
        if (offset, whence) != (0, os.SEEK_SET):
            raise io.UnsupportedOperation("a sealed upload can only be rewound")
        self.close()
        return 0

    def open(self, mode: str | None = None, *args: Any, **kwargs: Any) -> SealedUpload:  # type: ignore[override]
        self.seek(0)
        return self

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    @property
    def closed(self) -> bool:  # type: ignore[override]
        return self._reader is None


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
    damaged, truncated, reordered or belongs to another patient; StorageUnavailable if the
    store cannot be reached (a read that fails midway raises blobstore.StoreUnavailable)."""
    with _store_errors():
        raw = blobstore.get_store().open(storage_name)
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
    """Remove a blob from the store. Raises blobstore.StoreUnavailable if the store cannot be
    reached: the caller that cannot retry leaves it to the orphan job (delete_blob_later)."""
    blobstore.get_store().delete(storage_name)


def delete_blob_later(storage_name: str) -> None:
    """Remove a blob now if the store answers; otherwise the orphan job removes it once no
    Document row names it (hygie.patients.jobs). Never raises for an unreachable store."""
    try:
        delete_blob(storage_name)
    except blobstore.StoreUnavailable as exc:
        logger.warning("document store: blob left for the orphan job: %s", exc)


def extension(content_type: str) -> str:
    return EXTENSIONS.get(content_type, "")
