"""Uploads encrypted while they arrive: no plaintext copy of a document ever reaches the disk.

Django's default handlers keep a small upload in memory and spool a larger one to a plaintext
temporary file (FILE_UPLOAD_TEMP_DIR) before the view runs. EncryptingUploadHandler instead
feeds each chunk of the request body to a documents.BlobWriter: the file is sniffed, counted
against the limit and sealed for its patient as it is read, and the form receives a
documents.SealedUpload whose blob the action adopts.

The handler needs the patient's data key before the body is read, so a view installs it
after fetching the patient and before touching request.POST or request.FILES (see
hygie.patients.views.document_upload, which checks CSRF only then). The view calls `keep` for
the blob a saved Document uses and `cleanup` at the end: every other blob — refused form,
failed action, rolled-back transaction, interrupted upload — is deleted.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest

from hygie.patients import documents


class EncryptingUploadHandler(FileUploadHandler):
    """Seals the file of one form field (`field`) for `patient`; other files are skipped.

    A refused file (type, size) stops being encrypted at once, its partial blob is deleted and
    the rest of its bytes are discarded by Django's parser; `error` holds the French message
    for the form, and the other fields of the form are still read.
    """

    chunk_size = documents.CHUNK_SIZE

    def __init__(self, request: HttpRequest | None = None, *, patient: Any, limit: int, field: str = "file") -> None:
        super().__init__(request)
        self.patient = patient
        self.limit = limit
        self.field = field
        self.error: str | None = None
        self._writer: documents.BlobWriter | None = None
        self._sealed: list[documents.SealedUpload] = []
        self._kept: set[str] = set()

    def new_file(self, field_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, *args, **kwargs)
        if field_name != self.field or self._sealed or self.error is not None:
            # One document per form: a second file, or a file in another field, is not stored.
            raise SkipFile
        if self.content_length is not None and self.content_length > self.limit:
            # The part announced its size (browsers rarely do): refuse before reading it.
            self.error = documents.too_large_message()
            raise SkipFile
        try:
            self._writer = documents.BlobWriter.start(self.patient, limit=self.limit)
        except documents.DocumentError as exc:  # the document store cannot be reached
            self.error = str(exc)
            raise SkipFile from None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        assert self._writer is not None
        try:
            self._writer.write(raw_data)
        except documents.DocumentError as exc:
            # The writer has deleted its partial blob.
            self._writer = None
            self.error = str(exc)
            raise SkipFile from None
        return None  # the chunk is consumed: no later handler sees it

    def file_complete(self, file_size: int) -> documents.SealedUpload | None:
        writer, self._writer = self._writer, None
        if writer is None:
            return None
        try:
            blob = writer.finish()
        except documents.DocumentError as exc:
            self.error = str(exc)
            return None
        upload = documents.SealedUpload(
            blob,
            patient=self.patient,
            name=self.file_name or "",
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )
        self._sealed.append(upload)
        return upload

    def upload_interrupted(self) -> None:
        # The body ended in the middle of the file (the browser went away).
        self._abort_writer()

    def _abort_writer(self) -> None:
        if self._writer is not None:
            self._writer.abort()
            self._writer = None

    def keep(self, storage_name: str) -> None:
        """The blob `storage_name` is now a Document's: `cleanup(committed=True)` leaves it."""
        self._kept.add(storage_name)

    def cleanup(self, *, committed: bool) -> None:
        """Delete every blob of this request that no committed Document uses."""
        self._abort_writer()
        for upload in self._sealed:
            upload.close()
            if not (committed and upload.blob.storage_name in self._kept):
                documents.delete_blob_later(upload.blob.storage_name)
        self._sealed.clear()
