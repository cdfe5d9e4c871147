"""Documents on S3-compatible object storage (HYGIE_DOCUMENT_STORE=s3://bucket/prefix).

Against moto's S3 server (tests/backups/servers.py): MinIO cannot be installed here (neither in
Debian nor on PyPI), so the quirks of a real MinIO/Garage/Ceph endpoint are not covered. The
memory test runs moto in a separate process, so that what tracemalloc counts is Hygie's side.
"""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import transaction

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.backups.stores.s3 import PART_SIZE
from hygie.patients import actions, blobstore, documents
from hygie.patients.models import Document
from tests.backups.servers import ACCESS_KEY, REGION, SECRET_KEY, S3Server, free_port, wait_for_port
from tests.patients.test_upload_streaming import MARKER, _Body, _pdf_pieces, _post_stream, _sha256

MB = 1024 * 1024
PREFIX = "cabinet-17/documents"
PDF = b"%PDF-1.4\n" + MARKER + b"\n%%EOF\n"


def use_store(settings, server: S3Server, *, endpoint: str | None = None, prefix: str = PREFIX) -> None:
    settings.DOCUMENT_STORE = {
        "kind": "s3",
        "bucket": server.bucket,
        "prefix": prefix,
        "endpoint": endpoint or server.endpoint_url,
        "region": REGION,
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
    }
    blobstore._store_for.cache_clear()


@pytest.fixture
def s3_documents(settings, s3_server, tmp_path) -> Iterator[S3Server]:
    settings.DOCUMENTS_DIR = tmp_path / "documents"  # must stay empty
    use_store(settings, s3_server)
    yield s3_server
    blobstore._store_for.cache_clear()


def objects(server: S3Server) -> dict[str, bytes]:
    out = {}
    for page in server.client.get_paginator("list_objects_v2").paginate(Bucket=server.bucket):
        for item in page.get("Contents", ()):
            out[item["Key"]] = server.client.get_object(Bucket=server.bucket, Key=item["Key"])["Body"].read()
    return out


def pending_uploads(server: S3Server) -> list[str]:
    return [u["Key"] for u in server.client.list_multipart_uploads(Bucket=server.bucket).get("Uploads", ())]


def _stored(personas, content: bytes = PDF) -> Document:
    return actions.upload_document(
        actor=personas.alice, patient=personas.alice_patient, title="Radio genou", kind="resultat",
        fileobj=io.BytesIO(content),
    )


def test_an_upload_lands_encrypted_under_a_random_key_and_downloads_intact(personas, login, s3_documents, settings):
    size = 20 * MB  # more than one 16 MiB part: a multipart upload
    client = login(personas.alice)
    r = _post_stream(client, personas.alice_patient, _Body(_pdf_pieces(size), size))
    assert r.status_code == 302, r.content.decode()
    doc = Document.objects.get()
    stored = objects(s3_documents)
    assert list(stored) == [f"{PREFIX}/{doc.storage_name}"]
    assert re.fullmatch(r"[0-9a-f]{32}", doc.storage_name)
    blob = stored[f"{PREFIX}/{doc.storage_name}"]
    # Sealed: the canary placed in the clear file is nowhere in the object, whose hash is recorded.
    assert blob.startswith(b"HYGD") and MARKER not in blob and b"%PDF" not in blob
    assert doc.sha256 == hashlib.sha256(blob).hexdigest()
    head = s3_documents.client.head_object(Bucket=s3_documents.bucket, Key=f"{PREFIX}/{doc.storage_name}")
    assert head["ETag"].strip('"').endswith("-2"), "sent as a two-part multipart upload"
    # Nothing on this machine's disk, nothing pending on the server.
    assert not settings.DOCUMENTS_DIR.exists() or list(settings.DOCUMENTS_DIR.iterdir()) == []
    assert pending_uploads(s3_documents) == []

    r = client.get(f"/patients/documents/{doc.public_id}/")
    assert r.status_code == 200 and r.streaming
    assert _sha256(iter(r.streaming_content)) == _sha256(_pdf_pieces(size))
    assert Event.objects.filter(action=Ev.DOCUMENT_DOWNLOADED).count() == 1


def test_a_read_cut_midway_resumes_from_the_byte_reached(personas, s3_documents, monkeypatch):
    content = b"%PDF-1.4\n" + bytes(range(256)) * 8192  # 2 MiB
    doc = _stored(personas, content)
    real_get = blobstore._ObjectReader._get
    ranges: list[int | None] = []

    class Cut:
        """A body that fails once after 300 KB, as a dropped connection does."""

        def __init__(self, body) -> None:
            self.body, self.sent = body, 0

        def readinto(self, buffer) -> int:
            if self.sent > 300_000:
                from botocore.exceptions import ResponseStreamingError
                from urllib3.exceptions import ProtocolError

                raise ResponseStreamingError(error=ProtocolError("connection reset"))
            n = self.body.readinto(buffer)
            self.sent += n
            return n

        def close(self) -> None:
            self.body.close()

    def get(self, start):
        ranges.append(start)
        body = real_get(self, start)
        return Cut(body) if start is None else body

    monkeypatch.setattr(blobstore._ObjectReader, "_get", get)
    with documents.open_blob(doc.storage_name, patient=personas.alice_patient) as fh:
        assert fh.read() == content
    assert ranges[0] is None and len(ranges) == 2 and ranges[1] > 300_000


def test_the_store_down_is_a_clear_message_and_saves_nothing(personas, login, settings, s3_server, tmp_path):
    settings.DOCUMENTS_DIR = tmp_path / "documents"
    use_store(settings, s3_server, endpoint=f"http://127.0.0.1:{free_port()}")  # nothing listens
    client = login(personas.alice)
    r = _post_stream(client, personas.alice_patient, _Body(_pdf_pieces(MB), MB))
    assert r.status_code == 200
    assert "Le stockage des documents est momentanément injoignable" in r.content.decode()
    assert not Document.objects.exists()
    assert not Event.objects.filter(action=Ev.DOCUMENT_UPLOADED).exists()


def test_a_download_while_the_store_is_down_is_a_503_page(personas, login, settings, s3_documents):
    doc = _stored(personas)
    use_store(settings, s3_documents, endpoint=f"http://127.0.0.1:{free_port()}")
    r = login(personas.alice).get(f"/patients/documents/{doc.public_id}/")
    assert r.status_code == 503
    assert "injoignable" in r.content.decode()
    assert not Event.objects.filter(action=Ev.DOCUMENT_DOWNLOADED).exists()


def test_erasure_deletes_the_objects(personas, s3_documents, django_capture_on_commit_callbacks):
    doc = _stored(personas)
    other = actions.upload_document(
        actor=personas.bob, patient=personas.bob_patient, title="CR", kind="compte_rendu", fileobj=io.BytesIO(PDF)
    )
    with django_capture_on_commit_callbacks(execute=True):
        actions.erase_patient(actor=personas.alice, patient=personas.alice_patient)
    assert list(objects(s3_documents)) == [f"{PREFIX}/{other.storage_name}"]
    assert doc.storage_name not in str(objects(s3_documents))


def test_erasure_deletes_every_version_in_a_versioned_bucket(personas, settings, s3_server, tmp_path,
                                                             django_capture_on_commit_callbacks):
    settings.DOCUMENTS_DIR = tmp_path / "documents"
    s3_server.bucket = s3_server.create_bucket(object_lock=True)  # object lock implies versioning
    use_store(settings, s3_server)
    doc = _stored(personas)
    with django_capture_on_commit_callbacks(execute=True):
        actions.erase_patient(actor=personas.alice, patient=personas.alice_patient)
    versions = s3_server.client.list_object_versions(Bucket=s3_server.bucket)
    assert [v["Key"] for v in versions.get("Versions", ())] == []
    assert doc.storage_name not in str(versions.get("DeleteMarkers", ()))


@pytest.mark.django_db(transaction=True)
def test_the_orphan_job_removes_the_blob_of_a_rolled_back_upload_after_the_grace_period(personas, s3_documents):
    kept = _stored(personas)
    with pytest.raises(RuntimeError), transaction.atomic():
        rolled_back = _stored(personas)
        raise RuntimeError("the request failed after the upload")
    assert not Document.objects.filter(pk=rolled_back.pk).exists()
    orphan_key = f"{PREFIX}/{rolled_back.storage_name}"
    assert orphan_key in objects(s3_documents)
    # Younger than the grace period: it might be an upload about to commit; left alone.
    assert actions.remove_orphan_blobs(grace=timedelta(hours=1)) == {"scanned": 2, "removed": 0, "unfinished": 0}
    assert orphan_key in objects(s3_documents)
    assert not Event.objects.filter(action=Ev.DOCUMENT_ORPHANS_REMOVED).exists()
    # An upload killed midway: an unfinished multipart upload. (Created only now: moto reports
    # every upload as initiated in 2010, so its grace cannot be shown here; the age check is
    # the backup store's, tested in tests/backups/test_store_s3.py.)
    s3_documents.client.create_multipart_upload(Bucket=s3_documents.bucket, Key=f"{PREFIX}/{'0' * 32}")

    assert actions.remove_orphan_blobs(grace=timedelta(0)) == {"scanned": 2, "removed": 1, "unfinished": 1}
    assert list(objects(s3_documents)) == [f"{PREFIX}/{kept.storage_name}"]
    assert pending_uploads(s3_documents) == []
    event = Event.objects.get(action=Ev.DOCUMENT_ORPHANS_REMOVED)
    assert event.details == {"blobs": 1, "unfinished": 1, "grace_hours": 0}
    with documents.open_blob(kept.storage_name, patient=personas.alice_patient) as fh:
        assert fh.read() == PDF


def test_objects_outside_the_naming_scheme_are_never_touched(personas, s3_documents):
    s3_documents.client.put_object(Bucket=s3_documents.bucket, Key=f"{PREFIX}/README.txt", Body=b"x")
    s3_documents.client.put_object(Bucket=s3_documents.bucket, Key=f"autre/{'a' * 32}", Body=b"x")
    assert actions.remove_orphan_blobs(grace=timedelta(0))["removed"] == 0
    assert len(objects(s3_documents)) == 2


# --- memory ------------------------------------------------------------------------------------


@pytest.fixture
def moto_process(tmp_path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=30, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()


def test_a_large_document_is_never_whole_in_memory(personas, settings, moto_process, tmp_path):
    size = 96 * MB
    settings.UPLOAD_MAX_MB = 200
    # The bucket lives in the other moto process.
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3", endpoint_url=moto_process, region_name=REGION, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, config=Config(s3={"addressing_style": "path"}),
    )
    client.create_bucket(Bucket="memoire")
    settings.DOCUMENTS_DIR = tmp_path / "documents"
    use_store(settings, S3Server(endpoint_url=moto_process, bucket="memoire", client=client))
    _stored(personas)  # loads modules, keys and the S3 client as any first request would

    class Source(io.RawIOBase):
        def __init__(self) -> None:
            self.pieces = _pdf_pieces(size, seed=3)

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            return next(self.pieces, b"")

    tracemalloc.start()
    try:
        doc = actions.upload_document(
            actor=personas.alice, patient=personas.alice_patient, title="Scanner", kind="resultat", fileobj=Source()
        )
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest = hashlib.sha256()
        with documents.open_blob(doc.storage_name, patient=personas.alice_patient) as fh:
            while chunk := fh.read(64 * 1024):
                digest.update(chunk)
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"peaks: upload {upload_peak / MB:.1f} MiB, download {download_peak / MB:.1f} MiB for {size // MB} MiB")
    assert digest.hexdigest() == _sha256(_pdf_pieces(size, seed=3))
    # One 16 MiB part buffered (and its copy while it is sent), whatever the document's size.
    assert upload_peak < 2 * PART_SIZE, f"upload peak {upload_peak / MB:.1f} MB"
    assert download_peak < 4 * MB, f"download peak {download_peak / MB:.1f} MB"
