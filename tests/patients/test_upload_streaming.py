"""Uploads are encrypted while they arrive: no plaintext copy on disk, bounded memory.

Large bodies are produced while Django reads them (`_Body`): the test itself holds no copy of
the file, so what tracemalloc sees is the server side of the upload.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import random
import tracemalloc
import uuid
from collections.abc import Iterator

import pytest
from django.contrib import messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from hygie.lib import crypto
from hygie.patients import documents
from hygie.patients.models import Document

MB = 1024 * 1024
BLOCK = 64 * 1024
MARKER = b"HYGIE-CANARY-" + uuid.uuid4().hex.encode()
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    """A data dir of the test's own, where Django would spool an upload (tmp/) after 64 KiB."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DOCUMENTS_DIR = settings.DATA_DIR / "documents"
    settings.FILE_UPLOAD_TEMP_DIR = str(settings.DATA_DIR / "tmp")
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = BLOCK
    (settings.DATA_DIR / "tmp").mkdir(parents=True)
    return settings.DATA_DIR


def _pdf_pieces(size: int, seed: int = 0) -> Iterator[bytes]:
    """A PDF-looking file of `size` bytes: random blocks, the marker at the start, across a
    segment boundary in the middle, and at the end."""
    rng = random.Random(seed)
    head = b"%PDF-1.4\n" + MARKER
    yield head
    remaining = size - len(head) - 2 * len(MARKER)
    middle = remaining // 2 - (remaining // 2) % crypto.SEGMENT_SIZE - len(MARKER) // 2
    for part in (middle, remaining - middle):
        while part:
            n = min(BLOCK, part)
            yield rng.randbytes(n)
            part -= n
        yield MARKER


def _sha256(pieces: Iterator[bytes]) -> str:
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)
    return digest.hexdigest()


class _Body(io.RawIOBase):
    """A multipart/form-data body made while it is read (wsgi.input)."""

    def __init__(self, file_pieces: Iterator[bytes], file_size: int, *, truncate_at: int | None = None) -> None:
        self.boundary = uuid.uuid4().hex
        fields = {"title": "Scanner thoracique", "kind": "compte_rendu"}
        head = b"".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            for k, v in fields.items()
        )
        head += (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; filename="scanner.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.length = len(head) + file_size + len(tail)
        self._pieces = self._all(head, file_pieces, tail)
        self._pending = b""
        self._left = self.length if truncate_at is None else truncate_at

    @staticmethod
    def _all(head: bytes, pieces: Iterator[bytes], tail: bytes) -> Iterator[bytes]:
        yield head
        yield from pieces
        yield tail

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self._left if size is None or size < 0 else min(size, self._left)
        while len(self._pending) < size:
            piece = next(self._pieces, b"")
            if not piece:
                break
            self._pending += piece
        out, self._pending = self._pending[:size], self._pending[size:]
        self._left -= len(out)
        return out


def _url(patient) -> str:
    return f"/patients/{patient.public_id}/documents/ajouter/"


def _post_stream(client: Client, patient, body: _Body):
    environ = {
        "wsgi.input": body,
        "CONTENT_LENGTH": str(body.length),
        "CONTENT_TYPE": f"multipart/form-data; boundary={body.boundary}",
    }
    return client.generic("POST", _url(patient), **environ)


def _post(client: Client, patient, content: bytes, name: str = "examen.pdf"):
    return client.post(
        _url(patient),
        {"title": "Examen", "kind": "resultat", "file": _named(content, name)},
    )


def _named(content: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def _files(directory) -> list:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def _blobs(settings) -> list[str]:
    return [p.name for p in _files(settings.DOCUMENTS_DIR)] if settings.DOCUMENTS_DIR.exists() else []


def _in_clear(directory) -> list:
    return [
        p
        for p in _files(directory)
        if MARKER in p.read_bytes() or MARKER.decode().encode("utf-16-le") in p.read_bytes()
    ]


def test_it_never_writes_an_upload_in_clear(personas, login, data_dir, settings):
    size = 12 * MB
    during = []

    def pieces() -> Iterator[bytes]:
        yield from _pdf_pieces(size)
        # While the request is still being read: Django's own handler would have spooled the
        # file to tmp/ by now (and deleted it at the end of the request).
        during.extend(_files(data_dir))
        during.extend(_in_clear(data_dir))

    r = _post_stream(login(personas.alice), personas.alice_patient, _Body(pieces(), size))
    assert r.status_code == 302, r.content.decode()
    # During the upload: one file, the partial blob, hidden, in the documents dir.
    assert [p.parent for p in during] == [settings.DOCUMENTS_DIR] and during[0].name.startswith(".upload-")
    doc = Document.objects.get()
    assert (doc.size, doc.content_type) == (size, "application/pdf")
    # Afterwards: the blob and nothing else, and no marker anywhere.
    assert _files(data_dir) == [settings.DOCUMENTS_DIR / doc.storage_name]
    assert _in_clear(data_dir) == []
    # The recorded hash is the blob's (ciphertext), not the document's.
    blob = (settings.DOCUMENTS_DIR / doc.storage_name).read_bytes()
    assert doc.sha256 == hashlib.sha256(blob).hexdigest() != _sha256(_pdf_pieces(size))

    r = login(personas.alice).get(f"/patients/documents/{doc.public_id}/")
    assert r.status_code == 200
    assert _sha256(iter(r.streaming_content)) == _sha256(_pdf_pieces(size))


def test_it_keeps_memory_well_below_the_file_size(personas, login):
    size = 12 * MB
    client = login(personas.alice)
    # A first upload loads the modules, templates and keys that any first request would.
    _post_stream(client, personas.alice_patient, _Body(_pdf_pieces(MB, seed=2), MB))
    body = _Body(_pdf_pieces(size, seed=1), size)
    tracemalloc.start()
    try:
        r = _post_stream(client, personas.alice_patient, body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.status_code == 302
    assert Document.objects.filter(size=size).exists()
    assert peak < 4 * MB, f"peak {peak / MB:.1f} MB"


def test_it_refuses_an_upload_over_the_limit_as_soon_as_it_is_exceeded(personas, login, settings, monkeypatch):
    settings.UPLOAD_MAX_MB = 1
    sealed = []
    update = crypto.StreamEncryptor.update
    monkeypatch.setattr(
        crypto.StreamEncryptor, "update", lambda self, data: sealed.append(len(data)) or update(self, data)
    )
    size = 3 * MB
    r = _post_stream(login(personas.alice), personas.alice_patient, _Body(_pdf_pieces(size), size))
    assert r.status_code == 200
    page = r.content.decode()
    assert "Le fichier dépasse la taille maximale autorisée (1 Mo)." in page
    # The refusal replaces the form's "choose a file", and the other fields are kept.
    assert "Choisissez un fichier." not in page and "Scanner thoracique" in page
    assert not Document.objects.exists()
    assert _blobs(settings) == []
    # Encryption stopped at the limit: not the 3 MB that were sent.
    assert sum(sealed) <= 1 * MB


def test_it_refuses_an_executable_renamed_pdf(personas, login, settings, data_dir):
    r = _post(login(personas.alice), personas.alice_patient, EXE + MARKER, name="resultats.pdf")
    assert r.status_code == 200
    assert "Seuls les fichiers PDF et les images (PNG, JPEG, GIF, WebP, TIFF) sont acceptés." in r.content.decode()
    assert not Document.objects.exists()
    assert _blobs(settings) == []
    assert _files(data_dir / "tmp") == []


def test_it_leaves_nothing_of_an_interrupted_upload(personas, login, settings, data_dir):
    size = 2 * MB
    body = _Body(_pdf_pieces(size), size, truncate_at=MB)  # the browser went away after 1 MB
    r = _post_stream(login(personas.alice), personas.alice_patient, body)
    assert r.status_code == 200
    assert not Document.objects.exists()
    assert _files(data_dir) == []


def test_it_leaves_nothing_when_the_connection_breaks(personas, login, data_dir):
    def broken() -> Iterator[bytes]:
        yield from itertools.islice(_pdf_pieces(2 * MB), 20)
        raise ConnectionResetError("the browser went away")

    r = _post_stream(login(personas.alice), personas.alice_patient, _Body(broken(), 2 * MB))
    assert r.status_code == 400
    assert not Document.objects.exists()
    assert _files(data_dir) == []


def test_it_removes_the_blob_when_the_transaction_rolls_back(personas, login, settings, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("session store unavailable")

    # Fails after the action stored the document, inside the view's transaction.
    monkeypatch.setattr(messages, "success", boom)
    with pytest.raises(RuntimeError):
        _post(login(personas.alice), personas.alice_patient, b"%PDF-1.4\n" + MARKER)
    assert not Document.objects.exists()
    assert _blobs(settings) == []


def test_it_checks_csrf_after_reading_the_upload_and_keeps_nothing(personas, settings):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.alice, backend="hygie.accounts.backends.HygieBackend")
    r = _post(client, personas.alice_patient, b"%PDF-1.4\n" + MARKER)
    assert r.status_code == 403
    assert not Document.objects.exists()
    assert _blobs(settings) == []


def test_it_skips_a_second_file_in_the_same_form(personas, login, settings):
    client = login(personas.alice)
    r = client.post(
        _url(personas.alice_patient),
        {
            "title": "Deux",
            "kind": "resultat",
            "file": [_named(b"%PDF-1.4\nA", "a.pdf"), _named(b"%PDF-1.4\nB", "b.pdf")],
        },
    )
    assert r.status_code == 302
    doc = Document.objects.get()
    assert _blobs(settings) == [doc.storage_name]
    with documents.open_blob(doc.storage_name, patient=personas.alice_patient) as f:
        assert f.read() == b"%PDF-1.4\nA"


def test_it_writes_the_same_blob_format_chunk_by_chunk(personas, settings):
    patient = personas.alice_patient
    content = b"%PDF-1.4\n" + MARKER + bytes(range(256)) * 1000
    writer = documents.BlobWriter.start(patient)
    for i in range(0, len(content), 7):  # chunks smaller than the sniffed head
        writer.write(content[i : i + 7])
    blob = writer.finish()
    assert (blob.size, blob.content_type) == (len(content), "application/pdf")
    stored = (settings.DOCUMENTS_DIR / blob.storage_name).read_bytes()
    assert stored.startswith(b"HYGD") and MARKER not in stored
    assert blob.sha256 == hashlib.sha256(stored).hexdigest()
    with documents.open_blob(blob.storage_name, patient=patient) as f:
        assert f.read() == content
    # save_stream goes through the same writer.
    other = documents.save_stream(io.BytesIO(content), patient=patient)
    with documents.open_blob(other.storage_name, patient=patient) as f:
        assert f.read() == content


def test_it_aborts_a_blob_without_trace(personas, settings):
    writer = documents.BlobWriter.start(personas.alice_patient)
    writer.write(b"%PDF-1.4\n" + b"x" * (3 * crypto.SEGMENT_SIZE))
    assert len(_files(settings.DOCUMENTS_DIR)) == 1  # the partial blob, hidden
    writer.abort()
    writer.abort()
    assert _files(settings.DOCUMENTS_DIR) == []
    short = documents.BlobWriter.start(personas.alice_patient)
    short.write(b"GIF8")  # shorter than the sniffed head, and not a whole GIF signature
    with pytest.raises(documents.UnsupportedType):
        short.finish()
    assert _files(settings.DOCUMENTS_DIR) == []
