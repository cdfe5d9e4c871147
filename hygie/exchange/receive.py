"""Received files into a record: every member of a received archive or attachment of a message
goes straight into an encrypted document blob of the chosen patient (hygie.patients.documents):
decrypted in memory, segment by segment, never written in clear. A member that is not a PDF or an
image (an XDM's METADATA.XML, a README…) is dropped and counted.

Nothing is half-filed: the blobs are written first; if anything is refused they are deleted, and
the Document rows are created together in one transaction (hygie.exchange.actions).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings

from hygie.lib import exchange as rules
from hygie.patients import documents as blobs

_HEAD = 16


class _FilingSink:
    """One member: sniffed on its first bytes, then sealed into a blob, or dropped."""

    def __init__(self, name: str, patient: Any, batch: Batch) -> None:
        self.name = name
        self.patient = patient
        self.batch = batch
        self.head = b""
        self.writer: blobs.BlobWriter | None = None
        self.dropped = False

    def write(self, data: bytes) -> None:
        if self.dropped:
            return
        if self.writer is None:
            self.head += data
            if len(self.head) < _HEAD:
                return
            self._start()
            data, self.head = self.head, b""
            if self.writer is None:
                return
        try:
            self.writer.write(data)
        except blobs.TooLarge:
            self.writer = None
            raise rules.ArchiveRefused(blobs.too_large_message()) from None

    def _start(self) -> None:
        if blobs.sniff(self.head) is None:
            self.dropped = True
            self.head = b""
            return
        self.writer = blobs.BlobWriter.start(self.patient)

    def close(self) -> None:
        if self.writer is None and not self.dropped:
            if not self.head:
                self.dropped = True
            else:
                self._start()
                if self.writer is not None:
                    self.writer.write(self.head)
                    self.head = b""
        if self.dropped or self.writer is None:
            self.batch.ignored += 1
            return
        self.batch.filed.append((self.name, self.writer.finish()))
        self.writer = None

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()
            self.writer = None


@dataclass
class Batch:
    """The blobs written for one reception, and what was dropped."""

    patient: Any
    filed: list[tuple[str, blobs.StoredBlob]] = field(default_factory=list)
    ignored: int = 0
    ins: str | None = None

    def sink(self, name: str) -> _FilingSink:
        return _FilingSink(name, self.patient, self)

    def discard(self) -> None:
        for _, blob in self.filed:
            blobs.delete_blob(blob.storage_name)
        self.filed.clear()


def limits() -> rules.Limits:
    member = settings.UPLOAD_MAX_MB * 1024 * 1024
    return rules.Limits(max_member_bytes=member, max_total_bytes=settings.EXCHANGE_MAX_MB * 1024 * 1024)


def title_of(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).name[:200] or "Document reçu"


def from_archive(path: Path, passphrase: str, patient: Any) -> Batch:
    """Extract a received .7z or .zip into blobs. ArchiveRefused (French) leaves nothing."""
    from hygie.lib import sevenzip  # py7zr: see hygie.exchange.actions

    batch = Batch(patient)
    try:
        sevenzip.extract(path, passphrase, batch.sink, limits())
    except BaseException:
        batch.discard()
        raise
    return batch


def _xdm_ins(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = [n for n in zf.namelist() if n.upper().endswith("METADATA.XML")]
            if not names or zf.getinfo(names[0]).file_size > 5 * 1024 * 1024:
                return None
            return rules.ins_from_metadata(zf.read(names[0]))
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError):
        return None


def from_message(msg: EmailMessage, patient: Any) -> Batch:
    """File a message's attachments: an IHE_XDM.ZIP is opened (its METADATA.XML gives the INS),
    any other attachment is filed as it is (if it is a PDF or an image). All in memory: the
    message is at most HYGIE_EXCHANGE_MAX_MB (hygie.exchange.transport.fetch)."""
    from hygie.lib import sevenzip  # py7zr: see hygie.exchange.actions

    batch = Batch(patient)
    try:
        for part in msg.iter_attachments():
            data = part.get_payload(decode=True)
            if not isinstance(data, bytes):
                continue
            name = part.get_filename() or "piece-jointe"
            if data[:4] == b"PK\x03\x04":
                batch.ins = batch.ins or _xdm_ins(data)
                sevenzip.extract_zip(io.BytesIO(data), "", batch.sink, limits())
                continue
            sink = batch.sink(name)
            try:
                sink.write(data)
                sink.close()
            except BaseException:
                sink.abort()
                raise
    except BaseException:
        batch.discard()
        raise
    return batch
