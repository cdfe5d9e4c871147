"""Received archives filed in a record; hostile ones refused before anything is kept.

The archives are made by Debian's stock 7z (p7zip) where it can make them, else by zipfile."""

from __future__ import annotations

import os
import stat
import subprocess
import zipfile

import pytest

from hygie.access import records
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.exchange import actions
from hygie.exchange.models import Direction, Exchange
from hygie.patients import documents as blobs
from tests.exchange.conftest import PDF, PNG, blobs_in

pytestmark = pytest.mark.django_db


def seven_zip(*args: str, cwd=None) -> None:
    subprocess.run(["7z", *args], capture_output=True, check=True, cwd=cwd, stdin=subprocess.DEVNULL)


@pytest.fixture
def received(tmp_path):
    folder = tmp_path / "recu"
    folder.mkdir()
    (folder / "compte-rendu.pdf").write_bytes(PDF)
    (folder / "radio.png").write_bytes(PNG)
    (folder / "LISEZMOI.txt").write_text("Bonjour", encoding="utf-8")
    return folder


def _documents(personas, patient):
    return list(records.documents_of(personas.alice, patient))


def test_a_7z_with_encrypted_headers_is_filed(personas, record, received, tmp_path):
    patient, before = record
    archive = tmp_path / "hopital.7z"
    seven_zip("a", "-mhe=on", "-pvoile-sable-trente-piano", str(archive), ".", cwd=received)
    exchange = actions.receive_archive(
        actor=personas.alice, patient=patient, path=archive, passphrase="voile-sable-trente-piano"
    )
    assert exchange.direction == Direction.RECEIVED and exchange.documents == 2
    new = [d for d in _documents(personas, patient) if d not in before]
    assert sorted(d.title for d in new) == ["compte-rendu.pdf", "radio.png"]
    for doc in new:
        with blobs.open_blob(doc.storage_name, patient=patient) as fh:
            assert fh.read() == (PDF if doc.title.endswith(".pdf") else PNG)
    event = Event.objects.get(action=Ev.EXCHANGE_RECEIVED)
    assert event.details == {"documents": 2, "ignored": 1, "size": len(PDF) + len(PNG), "via": "archive"}
    assert Event.objects.filter(action=Ev.DOCUMENT_UPLOADED, details__via="exchange").count() == 2


def test_a_zip_with_a_password_is_filed(personas, record, received, tmp_path):
    patient, _ = record
    archive = tmp_path / "labo.zip"
    seven_zip("a", "-tzip", "-pmot-de-passe-du-labo", str(archive), "compte-rendu.pdf", cwd=received)
    exchange = actions.receive_archive(actor=personas.alice, patient=patient, path=archive,
                                       passphrase="mot-de-passe-du-labo")
    assert exchange.documents == 1


def _refused(personas, record, documents_dir, path, passphrase, match):
    patient, _ = record
    blobs_before = blobs_in(documents_dir)
    count = len(_documents(personas, patient))
    with pytest.raises(actions.ActionError, match=match):
        actions.receive_archive(actor=personas.alice, patient=patient, path=path, passphrase=passphrase)
    assert blobs_in(documents_dir) == blobs_before, "nothing written"
    assert len(_documents(personas, patient)) == count
    assert not Exchange.objects.filter(direction=Direction.RECEIVED).exists()
    assert Event.objects.filter(action=Ev.EXCHANGE_RECEPTION_REFUSED).exists() or match == "ni une archive"


def test_a_wrong_passphrase_is_refused(personas, record, received, documents_dir, tmp_path):
    archive = tmp_path / "x.7z"
    seven_zip("a", "-mhe=on", "-pbonne-phrase", str(archive), ".", cwd=received)
    _refused(personas, record, documents_dir, archive, "mauvaise-phrase", "Phrase de passe incorrecte")
    _refused(personas, record, documents_dir, archive, "", "protégée")


def test_a_wrong_zip_password_is_refused(personas, record, received, documents_dir, tmp_path):
    archive = tmp_path / "x.zip"
    seven_zip("a", "-tzip", "-pbonne-phrase", str(archive), ".", cwd=received)
    _refused(personas, record, documents_dir, archive, "mauvaise-phrase", "Phrase de passe incorrecte")


def test_a_zip_bomb_is_refused(personas, record, documents_dir, tmp_path, settings):
    settings.UPLOAD_MAX_MB = 2
    archive = tmp_path / "bombe.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.pdf", PDF)
        zf.writestr("b.pdf", b"%PDF-" + b"\0" * (30 * 1024 * 1024))  # 30 MB that pack to 30 KB
    _refused(personas, record, documents_dir, archive, "", "bombe|dépasse")


def test_a_high_compression_ratio_is_refused(personas, record, documents_dir, tmp_path):
    archive = tmp_path / "ratio.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.pdf", b"%PDF-" + b"\0" * (20 * 1024 * 1024))
    _refused(personas, record, documents_dir, archive, "", "taux de compression")


def test_a_7z_bomb_is_refused_from_its_listing(personas, record, documents_dir, tmp_path, settings):
    settings.UPLOAD_MAX_MB = 1
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "zero.pdf").write_bytes(b"%PDF-" + b"\0" * (3 * 1024 * 1024))
    archive = tmp_path / "bombe.7z"
    seven_zip("a", "-mhe=on", "-pphrase", str(archive), ".", cwd=folder)
    _refused(personas, record, documents_dir, archive, "phrase", "dépasse")


def test_too_much_in_total_is_refused(personas, record, documents_dir, tmp_path, settings):
    settings.EXCHANGE_MAX_MB = 1
    archive = tmp_path / "total.zip"
    with zipfile.ZipFile(archive, "w") as zf:  # stored: no ratio to see, only the total
        for n in range(3):
            zf.writestr(f"{n}.pdf", b"%PDF-" + os.urandom(400 * 1024))
    _refused(personas, record, documents_dir, archive, "", "Mo une fois décompressée")


@pytest.mark.parametrize("name", ["../evil.pdf", "a/../../evil.pdf", "/etc/evil.pdf", "..\\evil.pdf"])
def test_a_path_traversal_is_refused(personas, record, documents_dir, tmp_path, name):
    archive = tmp_path / "traversal.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.pdf", PDF)
        zf.writestr(zipfile.ZipInfo(name), PDF)
    _refused(personas, record, documents_dir, archive, "", "nom dangereux")


def test_a_symlink_in_a_zip_is_refused(personas, record, documents_dir, tmp_path):
    archive = tmp_path / "lien.zip"
    info = zipfile.ZipInfo("lien.pdf")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.pdf", PDF)
        zf.writestr(info, "/etc/passwd")
    _refused(personas, record, documents_dir, archive, "", "lien symbolique")


def test_a_symlink_in_a_7z_is_refused(personas, record, documents_dir, tmp_path):
    folder = tmp_path / "l"
    folder.mkdir()
    (folder / "ok.pdf").write_bytes(PDF)
    (folder / "lien.pdf").symlink_to("/etc/passwd")
    archive = tmp_path / "lien.7z"
    seven_zip("a", "-snl", "-pphrase", str(archive), ".", cwd=folder)
    _refused(personas, record, documents_dir, archive, "phrase", "lien symbolique")


def test_a_file_that_is_no_archive_is_refused(personas, record, documents_dir, tmp_path):
    path = tmp_path / "x.7z"
    path.write_bytes(PDF)
    _refused(personas, record, documents_dir, path, "", "ni une archive")


def test_an_archive_without_any_document_files_nothing(personas, record, documents_dir, tmp_path):
    archive = tmp_path / "texte.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("note.txt", "rien")
        zf.writestr("script.exe", b"MZ\x90\x00" + b"\0" * 64)
    patient, _ = record
    before = blobs_in(documents_dir)
    with pytest.raises(actions.ActionError, match="Aucun document"):
        actions.receive_archive(actor=personas.alice, patient=patient, path=archive, passphrase="")
    assert blobs_in(documents_dir) == before


def test_a_secretary_cannot_file_a_reception(personas, record, received, tmp_path):
    archive = tmp_path / "x.zip"
    seven_zip("a", "-tzip", str(archive), ".", cwd=received)
    with pytest.raises(actions.ActionError, match="rôle"):
        actions.receive_archive(actor=personas.sophie, patient=record[0], path=archive, passphrase="")
