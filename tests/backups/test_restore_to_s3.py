"""`hygie backup restore --document-store s3://…`: the documents go straight from the backup into
an S3 document store (moto's server), as they are stored (sealed), never over anything.

Also the restore's own machinery: the members written by threads (small ones) or streamed
(big ones), a writer that fails, the `finish-restore` process told to go or not."""

from __future__ import annotations

import io
import os
import subprocess

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from hygie.audit.events import Ev
from hygie.backups import restore, service
from hygie.lib import backuparchive
from hygie.patients import actions
from tests.backups.conftest import PDF, table_counts
from tests.backups.servers import ACCESS_KEY, REGION, SECRET_KEY
from tests.backups.test_round_trip import _live_count, _restore

PREFIX = "cabinet-restaure/documents"


@pytest.fixture
def s3_env(monkeypatch, s3_server):
    """The secret as an operator gives it (environment); the rest as options."""
    monkeypatch.setenv("HYGIE_DOCUMENT_STORE_SECRET_KEY", SECRET_KEY)
    return s3_server


def _options(server, prefix: str = PREFIX) -> list[str]:
    return [
        "--document-store", f"s3://{server.bucket}/{prefix}",
        "--document-store-endpoint", server.endpoint_url,
        "--document-store-region", REGION,
        "--document-store-access-key", ACCESS_KEY,
    ]  # fmt: skip


def _objects(server) -> dict[str, bytes]:
    out = {}
    for page in server.client.get_paginator("list_objects_v2").paginate(Bucket=server.bucket):
        for item in page.get("Contents", ()):
            out[item["Key"]] = server.client.get_object(Bucket=server.bucket, Key=item["Key"])["Body"].read()
    return out


def _blobs(vault) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (vault.data_dir / "documents").iterdir() if not p.name.startswith(".")}


def test_the_documents_are_restored_straight_into_an_empty_bucket_prefix(
    practice_data, vault, restore_target, s3_env, capsys
):
    before = table_counts(_live_count)
    service.run(vault.out)
    source = _blobs(vault)
    assert len(source) == 3

    _restore(vault, restore_target, *_options(s3_env))

    assert _objects(s3_env) == {f"{PREFIX}/{name}": body for name, body in source.items()}
    assert not any((restore_target.data_dir / "documents").iterdir())  # nothing to copy by hand
    assert table_counts(restore_target.count) == before
    assert restore_target.count("audit_event", f"WHERE action = '{Ev.RESTORE_COMPLETED}'") == 1
    # The journal of the restored installation says where its documents went (no secret).
    assert restore_target.count(
        "audit_event", f"WHERE action = '{Ev.RESTORE_COMPLETED}' AND CAST(details AS TEXT) LIKE '%s3://{s3_env.bucket}/{PREFIX}/%'"
    ) == 1
    out = capsys.readouterr().out
    assert f"Documents restaurés dans s3://{s3_env.bucket}/{PREFIX}/" in out
    assert f"HYGIE_DOCUMENT_STORE=s3://{s3_env.bucket}/{PREFIX}" in out
    assert SECRET_KEY not in out


def test_a_prefix_that_holds_anything_is_refused_and_nothing_is_written(practice_data, vault, restore_target, s3_env):
    service.run(vault.out)
    s3_env.client.put_object(Bucket=s3_env.bucket, Key=f"{PREFIX}/deja-la", Body=b"precious")
    with pytest.raises(CommandError, match="n'est pas vide"):
        _restore(vault, restore_target, *_options(s3_env))
    assert _objects(s3_env) == {f"{PREFIX}/deja-la": b"precious"}
    assert not restore_target.data_dir.exists()


def test_a_bad_store_url_or_a_missing_secret_is_refused_in_french(practice_data, vault, restore_target, s3_env,
                                                                  monkeypatch):  # fmt: skip
    service.run(vault.out)
    with pytest.raises(CommandError, match="--document-store doit être vide .* s3://compartiment/préfixe"):
        _restore(vault, restore_target, "--document-store", "s3://Pas_Un_Compartiment/x")
    monkeypatch.delenv("HYGIE_DOCUMENT_STORE_SECRET_KEY")
    with pytest.raises(CommandError, match="HYGIE_DOCUMENT_STORE_SECRET_KEY"):
        _restore(vault, restore_target, *_options(s3_env))
    assert not restore_target.data_dir.exists() and _objects(s3_env) == {}


def test_a_failed_restore_takes_its_documents_back_out_of_the_bucket(practice_data, vault, restore_target, s3_env):
    service.run(vault.out)
    # A second pack that fails to decrypt, after the first one was restored.
    actions.upload_document(
        actor=practice_data.alice, patient=practice_data.alice_patient, title="Nouveau", kind="compte_rendu",
        fileobj=io.BytesIO(PDF + b"nouveau"),
    )  # fmt: skip
    service.run(vault.out)
    packs = sorted((vault.out / "packs").iterdir())
    assert len(packs) == 2
    packs[-1].write_bytes(packs[-1].read_bytes()[:-50])
    with pytest.raises(CommandError, match=packs[-1].name):
        _restore(vault, restore_target, *_options(s3_env))
    assert _objects(s3_env) == {}
    assert not restore_target.data_dir.exists()


def test_the_restore_test_decrypts_its_sample_from_the_bucket_then_empties_it(practice_data, vault, s3_env, capsys):
    service.run(vault.out)
    call_command("backup", "test-restore", str(vault.out), *_options(s3_env))
    assert "3 document(s), 3 déchiffré(s) en échantillon" in capsys.readouterr().out
    assert _objects(s3_env) == {}


def test_the_restore_test_fails_when_the_bucket_copy_does_not_decrypt(practice_data, vault, restore_target, s3_env,
                                                                      monkeypatch):  # fmt: skip
    """The sample is decrypted from the bucket, not from anywhere else: damaged on the way, it fails."""
    service.run(vault.out)
    original = restore._Uploading.write

    def damaged(self, data):
        original(self, bytes(data[:-1]) + bytes([data[-1] ^ 1]))

    monkeypatch.setattr(restore._Uploading, "write", damaged)
    # The restore itself reads a sample back and compares it with the manifest.
    with pytest.raises(service.BackupError, match="absent ou différent"):
        restore.restore(
            service.directory_location(vault.out),
            restore_target.data_dir,
            database_url=restore_target.database_url,
            document_store=_target(s3_env),
        )
    assert _objects(s3_env) == {}
    # The restore test decrypts its own sample from the bucket.
    monkeypatch.setattr(restore.DocumentStoreTarget, "check_readable", lambda *args: None)
    with pytest.raises(service.BackupError, match="indéchiffrable"):
        restore.test_restore(path=vault.out, document_store=_target(s3_env))
    assert _objects(s3_env) == {}


def _target(server) -> restore.DocumentStoreTarget:
    from hygie.lib import storeurl

    return restore.DocumentStoreTarget(
        storeurl.document_store(f"s3://{server.bucket}/{PREFIX}", endpoint=server.endpoint_url, region=REGION,
                                access_key=ACCESS_KEY, secret_key=SECRET_KEY)  # fmt: skip
    )


# --- How the members are written ----------------------------------------------------------------


def test_members_above_the_in_memory_size_are_streamed_and_checked_the_same(
    practice_data, vault, restore_target, monkeypatch
):
    service.run(vault.out)
    monkeypatch.setattr(backuparchive, "_WHOLE", 100)  # every member streamed by the reading thread
    _restore(vault, restore_target)
    assert _blobs(vault) == {p.name: p.read_bytes() for p in (restore_target.data_dir / "documents").iterdir()}


def test_a_writer_that_fails_stops_the_restore_and_leaves_nothing(practice_data, vault, restore_target, monkeypatch):
    service.run(vault.out)
    # Members read whole are written by write_pieces, streamed ones by write: both fail.
    for method in ("write", "write_pieces"):
        original = getattr(backuparchive._FileSink, method)

        def full(self, data, original=original):
            if "documents" in str(self.dest):
                raise OSError(28, "No space left on device")
            original(self, data)

        monkeypatch.setattr(backuparchive._FileSink, method, full)
    with pytest.raises(OSError, match="No space left"):
        restore.restore(
            service.directory_location(vault.out), restore_target.data_dir, database_url=restore_target.database_url
        )
    assert not restore_target.data_dir.exists()


def test_finish_restore_does_nothing_unless_told_to_go(practice_data, vault, tmp_path):
    data_dir = tmp_path / "restored"
    data_dir.mkdir()
    finisher = restore._Finisher("hygie-backup-x.age", data_dir, "")
    finisher.cancel()
    assert finisher.proc.returncode is not None
    assert not (data_dir / "hygie.sqlite3").exists()
    # The same, as the process sees it: stdin closed without "go".
    result = subprocess.run(
        restore._command(["backup", "finish-restore", "--archive", "x", "--wait"]),
        env=restore._env(data_dir, "", None, None),
        input="",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and not (data_dir / "hygie.sqlite3").exists()


def test_the_run_row_is_updated_by_its_own_thread_while_packs_are_read(practice_data, vault, monkeypatch):
    """Packs are read by other threads; the thread that made the Run row writes its figure (the
    page's progress bar) at least once a second meanwhile."""
    import threading
    import time

    service.run(vault.out)
    original = service._check_pack

    def slow(*args, **kwargs):
        time.sleep(1.5)
        return original(*args, **kwargs)

    monkeypatch.setattr(service, "_check_pack", slow)

    class Counting:
        def __init__(self):
            self.flushed_by: set[int] = set()

        def __call__(self, n):
            pass

        def flush(self):
            self.flushed_by.add(threading.get_ident())

    progress = Counting()
    loc = service.directory_location(vault.out)
    service.check_snapshot(loc, restore.newest(loc), service.load_identity(), progress=progress)
    assert progress.flushed_by == {threading.get_ident()}


def test_a_file_gets_every_piece_in_order_through_short_writes(tmp_path, monkeypatch):
    pieces = [memoryview(os.urandom(n)) for n in [0, 1, 500, 0, 7000] * 400]  # more than one writev takes
    real = os.writev
    calls = []

    def short(fd, buffers):  # the OS may write less than asked: 4,099 bytes at most here
        calls.append(len(buffers))
        head = bytearray()
        for buffer in buffers:
            head += buffer
            if len(head) >= 4099:
                break
        return real(fd, [bytes(head[:4099])])

    monkeypatch.setattr(backuparchive.os, "writev", short)
    sink = backuparchive._FileSink(tmp_path / "blob")
    sink.write_pieces(pieces)
    sink.commit()
    assert (tmp_path / "blob").read_bytes() == b"".join(pieces)
    assert max(calls) <= backuparchive._IOV_MAX and len(calls) > 1
