"""S3Store against moto's S3 server on 127.0.0.1 (tests/backups/servers.py).

moto emulates S3 (buckets, multipart uploads, versions, object lock retention); the error
answers of real providers it cannot produce (bad keys, quota) are replayed with botocore's
Stubber on the store's own client."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from botocore.stub import Stubber

from hygie.backups.stores import RetentionLocked, StoreError
from hygie.backups.stores import s3 as s3_module
from hygie.backups.stores.s3 import S3Store
from tests.backups.servers import BACKUP, PACK, MiB, check_contract, free_port, read, write

SECRET = "Cle-secrete-a-ne-jamais-montrer"


@pytest.fixture
def small_parts(monkeypatch):
    """Parts of 5 MiB (S3's minimum) so that a multipart upload takes a few MiB only."""
    monkeypatch.setattr(s3_module, "PART_SIZE", 5 * MiB)


def versions(s3_server, bucket: str | None = None) -> list[tuple[str, bool]]:
    answer = s3_server.client.list_object_versions(Bucket=bucket or s3_server.bucket)
    found = [(v["Key"], False) for v in answer.get("Versions", ())]
    return found + [(m["Key"], True) for m in answer.get("DeleteMarkers", ())]


def pending_uploads(s3_server, bucket: str | None = None) -> list:
    return s3_server.client.list_multipart_uploads(Bucket=bucket or s3_server.bucket).get("Uploads", [])


def test_contract_s3(s3_server):
    check_contract(s3_server.make_store())
    assert versions(s3_server) == [] and pending_uploads(s3_server) == []


def test_contract_s3_with_prefix(s3_server):
    s3_server.client.put_object(Bucket=s3_server.bucket, Key="other/hygie-backup-x.age", Body=b"not ours")
    store = s3_server.make_store(prefix="/cabinet-dupont")
    assert store.prefix == "cabinet-dupont/"
    assert store.label.startswith(f"s3://{s3_server.bucket}/cabinet-dupont/ (127.0.0.1:")
    check_contract(store)
    write(store, PACK, b"x")
    keys = [o["Key"] for o in s3_server.client.list_objects_v2(Bucket=s3_server.bucket)["Contents"]]
    assert sorted(keys) == [f"cabinet-dupont/{PACK}", "other/hygie-backup-x.age"]


def test_multipart_round_trip(s3_server, small_parts):
    store = s3_server.make_store()
    data = os.urandom(11 * MiB + 5)
    write(store, BACKUP, data, chunk=3 * MiB + 1)
    write(store, PACK, b"small")
    assert store.list() == {BACKUP: len(data), PACK: 5}
    assert read(store, BACKUP, chunk=MiB) == data
    # Three parts (5 + 5 + 1 MiB): the ETag of a multipart object ends with its part count.
    assert s3_server.client.head_object(Bucket=s3_server.bucket, Key=BACKUP)["ETag"].endswith('-3"')
    assert pending_uploads(s3_server) == []


def test_failed_multipart_write_is_aborted(s3_server, small_parts):
    store = s3_server.make_store()
    with pytest.raises(RuntimeError), store.writer(BACKUP) as out:
        out.write(os.urandom(6 * MiB))  # one part sent
        assert len(pending_uploads(s3_server)) == 1
        raise RuntimeError("the archive could not be built")
    assert store.list() == {}
    assert pending_uploads(s3_server) == [] and versions(s3_server) == []


def test_failed_small_write_sends_nothing(s3_server):
    store = s3_server.make_store()
    with pytest.raises(RuntimeError), store.writer(PACK) as out:
        out.write(b"x" * 1000)
        raise RuntimeError
    assert store.list() == {} and versions(s3_server) == [] and pending_uploads(s3_server) == []


def test_refuses_to_overwrite(s3_server):
    store = s3_server.make_store()
    write(store, BACKUP, b"first")
    with pytest.raises(StoreError, match="existe déjà"):
        write(store, BACKUP, b"second")
    assert read(store, BACKUP) == b"first"


def test_delete_removes_every_version(s3_server):
    s3_server.client.put_bucket_versioning(Bucket=s3_server.bucket, VersioningConfiguration={"Status": "Enabled"})
    store = s3_server.make_store()
    write(store, BACKUP, b"x")
    write(store, PACK, b"y")
    store.delete(BACKUP)
    # Not a delete marker hiding the data: the space is freed.
    assert versions(s3_server) == [(PACK, False)]
    assert store.list() == {PACK: 1}


def test_object_lock(s3_server):
    store = s3_server.make_locked_store(lock_days=2)
    store.check()
    before = dt.datetime.now(dt.UTC)
    write(store, BACKUP, b"locked")
    head = s3_server.client.head_object(Bucket=store.bucket, Key=BACKUP)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert before + dt.timedelta(days=2) - dt.timedelta(minutes=1) < head["ObjectLockRetainUntilDate"]
    assert head["ObjectLockRetainUntilDate"] < before + dt.timedelta(days=2, minutes=1)

    with pytest.raises(RetentionLocked) as caught:
        store.delete(BACKUP)
    assert "verrouillé jusqu'au" in str(caught.value) and BACKUP in str(caught.value)
    # Still there, still readable, no delete marker hiding it.
    assert store.list() == {BACKUP: 6}
    assert read(store, BACKUP) == b"locked"
    assert versions(s3_server, store.bucket) == [(BACKUP, False)]


def test_object_lock_multipart(s3_server, small_parts):
    store = s3_server.make_locked_store(lock_days=1, lock_mode="governance")
    data = os.urandom(6 * MiB)
    write(store, BACKUP, data, chunk=MiB)
    head = s3_server.client.head_object(Bucket=store.bucket, Key=BACKUP)
    assert head["ObjectLockMode"] == "GOVERNANCE" and head["ETag"].endswith('-2"')
    with pytest.raises(RetentionLocked):
        store.delete(BACKUP)
    assert read(store, BACKUP) == data


def test_expired_retention_can_be_deleted(s3_server):
    # Written without retention in an object lock bucket (lock_days=0): deletable, every version.
    bucket = s3_server.create_bucket(object_lock=True)
    store = s3_server.make_store(bucket=bucket)
    store.check()
    write(store, PACK, b"x")
    store.delete(PACK)
    assert store.list() == {} and versions(s3_server, bucket) == []


def test_lock_requires_an_object_lock_bucket(s3_server):
    store = s3_server.make_store(lock_days=30)
    with pytest.raises(StoreError, match=r"le compartiment n'a pas le verrouillage d'objets \(object lock\) activé"):
        store.check()


def test_unknown_lock_mode(s3_server):
    with pytest.raises(StoreError, match="Mode de verrouillage"):
        s3_server.make_store(lock_days=1, lock_mode="FOREVER")


def test_missing_bucket(s3_server):
    store = s3_server.make_store(bucket="absent-bucket-hygie")
    for action in (store.check, store.list):
        with pytest.raises(StoreError, match="le compartiment « absent-bucket-hygie » n'existe pas"):
            action()
    with pytest.raises(StoreError, match="n'existe pas"):
        write(store, PACK, b"x")


def test_unreachable_endpoint_fails_fast():
    store = S3Store(
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        bucket="b",
        access_key="AKIA",
        secret_key=SECRET,
        timeout=2,
    )
    started = time.monotonic()
    with pytest.raises(StoreError, match="serveur S3 injoignable") as caught:
        store.check()
    assert time.monotonic() - started < 10
    assert SECRET not in str(caught.value)


def test_label_never_shows_credentials_from_the_url():
    store = S3Store(
        endpoint_url="https://user:password@s3.example.net:8443/", bucket="b", access_key="a", secret_key=SECRET
    )
    assert store.label == "s3://b/ (s3.example.net:8443)"


@pytest.mark.parametrize(
    ("operation", "code", "status", "expected"),
    [
        ("head_bucket", "403", 403, "accès refusé"),
        ("list_objects_v2", "InvalidAccessKeyId", 403, "identifiants S3 refusés"),
        ("list_objects_v2", "SignatureDoesNotMatch", 403, "identifiants S3 refusés"),
        ("list_objects_v2", "AccessDenied", 403, "droits insuffisants"),
        ("put_object", "QuotaExceeded", 403, "quota ou espace de stockage S3 épuisé"),
        ("put_object", "XMinioAdminBucketQuotaExceeded", 400, "quota ou espace de stockage S3 épuisé"),
        ("put_object", "XMinioStorageFull", 507, "quota ou espace de stockage S3 épuisé"),
        ("put_object", "InternalError", 500, "erreur du serveur S3"),
    ],
)
def test_provider_errors_in_french(s3_server, operation, code, status, expected):
    """Errors moto cannot produce (it does not check keys, has no quota), replayed as the
    provider would answer."""
    store = s3_server.make_store(secret_key=SECRET)
    client = store._client()
    with Stubber(client) as stubber:
        if operation == "head_bucket":
            stubber.add_client_error("head_bucket", service_error_code=code, http_status_code=status)
            stubber.add_client_error("list_objects_v2", service_error_code=code, http_status_code=status)
            action = store.check
        elif operation == "list_objects_v2":
            stubber.add_client_error("head_bucket", service_error_code="403", http_status_code=403)
            stubber.add_client_error("list_objects_v2", service_error_code=code, http_status_code=status)
            action = store.check
        else:
            stubber.add_client_error("head_object", service_error_code="404", http_status_code=404)
            stubber.add_client_error(operation, service_error_code=code, http_status_code=status)

            def action() -> None:
                write(store, PACK, b"x")

        with pytest.raises(StoreError, match=expected) as caught:
            action()
    message = str(caught.value)
    assert message.startswith(store.label) and SECRET not in message


def test_quota_during_multipart_aborts_the_upload(s3_server, small_parts):
    store = s3_server.make_store()
    client = store._client()
    real_upload_part = client.upload_part
    calls = []

    def upload_part(**kwargs):
        calls.append(kwargs["PartNumber"])
        if kwargs["PartNumber"] == 2:
            from botocore.exceptions import ClientError

            error = {"Error": {"Code": "QuotaExceeded"}, "ResponseMetadata": {"HTTPStatusCode": 403}}
            raise ClientError(error, "UploadPart")
        return real_upload_part(**kwargs)

    client.upload_part = upload_part
    with pytest.raises(StoreError, match="quota"):
        write(store, BACKUP, os.urandom(12 * MiB), chunk=MiB)
    assert calls == [1, 2]
    assert store.list() == {} and pending_uploads(s3_server) == []


def test_reader_missing(s3_server):
    with pytest.raises(StoreError, match="sauvegarde introuvable"), s3_server.make_store().reader(BACKUP):
        pass


def test_remove_leftovers(s3_server):
    store = s3_server.make_store(prefix="cabinet")
    s3_server.client.create_multipart_upload(Bucket=s3_server.bucket, Key=f"cabinet/{BACKUP}")
    s3_server.client.create_multipart_upload(Bucket=s3_server.bucket, Key=f"other/{BACKUP}")  # not ours
    # moto dates every upload 2010-11-10: old enough.
    assert store.remove_leftovers() == 1
    assert [u["Key"] for u in pending_uploads(s3_server)] == [f"other/{BACKUP}"]


def test_recent_uploads_are_left_alone(s3_server):
    store = s3_server.make_store()
    recent = {"Key": BACKUP, "UploadId": "u1", "Initiated": dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)}
    with Stubber(store._client()) as stubber:
        stubber.add_response("list_multipart_uploads", {"Uploads": [recent]})
        assert store.remove_leftovers() == 0  # may belong to a run still going


def test_wrong_region(s3_server):
    store = s3_server.make_store(region="eu-west-3")
    with Stubber(store._client()) as stubber:
        stubber.add_client_error("list_objects_v2", service_error_code="PermanentRedirect", http_status_code=301)
        with pytest.raises(StoreError, match="région « eu-west-3 »"):
            store.list()
