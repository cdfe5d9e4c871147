"""Encrypted archives from a record, opened with Debian's stock 7z (p7zip): AES-256, names hidden."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from hygie.access import records
from hygie.audit.events import Ev, Outcome
from hygie.audit.models import Event
from hygie.exchange import actions
from hygie.exchange.content import Selection
from hygie.exchange.models import Direction, Exchange
from hygie.practices.models import Practice
from tests.exchange.conftest import PDF, PNG
from tests.factories import make_consultation

pytestmark = pytest.mark.django_db


def seven_zip(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # -p… on the command line: 7z never waits for a typed password (stdin is closed).
    return subprocess.run(["7z", *args], capture_output=True, text=True, cwd=cwd, stdin=subprocess.DEVNULL, check=False)


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_the_stock_7z_opens_the_archive_with_its_passphrase_only(personas, record, tmp_path):
    patient, docs = record
    make_consultation(patient, personas.alice, motif="Douleur du genou", observations="Épanchement")
    consultations = list(records.consultations_of(personas.alice, patient))
    selection = Selection(patient=patient, summary=True, documents=docs, consultations=consultations)
    out = tmp_path / "envoi.7z"
    written = actions.write_archive(actor=personas.alice, selection=selection, out=out)
    assert written.members == 4
    assert len(written.passphrase.split("-")) == 7

    listing = seven_zip("l", "-slt", f"-p{written.passphrase}", str(out))
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert "7zAES" in listing.stdout
    assert "documents/01-compte-rendu-operatoire.pdf" in listing.stdout
    assert "synthese.pdf" in listing.stdout and "consultations.pdf" in listing.stdout

    # Without the passphrase nothing is listed, not even a name; a wrong one is refused.
    blind = seven_zip("l", "-p", str(out))
    assert blind.returncode != 0
    assert "compte-rendu" not in blind.stdout and "synthese" not in blind.stdout
    wrong = seven_zip("x", "-pmauvaise-phrase", f"-o{tmp_path / 'wrong'}", str(out))
    assert wrong.returncode != 0
    assert not (tmp_path / "wrong").exists() or not any((tmp_path / "wrong").rglob("*.pdf"))

    extracted = seven_zip("x", f"-p{written.passphrase}", f"-o{tmp_path / 'x'}", str(out))
    assert extracted.returncode == 0, extracted.stdout
    assert (tmp_path / "x/documents/01-compte-rendu-operatoire.pdf").read_bytes() == PDF
    assert (tmp_path / "x/documents/02-radio-du-genou.png").read_bytes() == PNG
    text = pdf_text(tmp_path / "x/synthese.pdf")
    assert "Allergie à la pénicilline" in text and "285057800608432" in text
    text = pdf_text(tmp_path / "x/consultations.pdf")
    assert "Douleur du genou" in text

    # The raw file holds neither a name nor the content in clear.
    raw = out.read_bytes()
    assert b"compte-rendu" not in raw and b"synthese" not in raw and PDF not in raw


def test_the_archive_is_journaled_with_counts_only(personas, record, tmp_path):
    patient, docs = record
    written = actions.write_archive(actor=personas.alice, selection=Selection(patient=patient, documents=docs))
    exchange = written.exchange
    assert exchange is not None and exchange.direction == Direction.ARCHIVE and exchange.documents == 2
    assert actions.outbox_path(exchange) == written.path
    event = Event.objects.get(action=Ev.EXCHANGE_ARCHIVE_CREATED)
    assert event.patient_id == patient.pk
    want = {"documents": 2, "consultations": 0, "summary": False, "size": exchange.size, "via": "web"}
    assert event.details == want
    assert written.passphrase not in json.dumps(event.details) and "Compte" not in json.dumps(event.details)


def test_an_empty_selection_writes_nothing(personas, record, tmp_path):
    patient, _ = record
    with pytest.raises(actions.ActionError, match="au moins un élément"):
        actions.write_archive(actor=personas.alice, selection=Selection(patient=patient), out=tmp_path / "x.7z")
    assert not (tmp_path / "x.7z").exists()


def test_roles_without_medical_access_cannot_make_an_archive(personas, record, tmp_path):
    patient, docs = record
    for who in (personas.sophie, personas.fabien, personas.adam, personas.regine):
        with pytest.raises(actions.ActionError):
            actions.write_archive(
                actor=who, selection=Selection(patient=patient, documents=docs), out=tmp_path / "x.7z"
            )
    assert not Exchange.objects.exists()


def test_no_archive_leaves_during_a_lockdown(personas, record, tmp_path, monkeypatch):
    # The incidents app (another branch) owns the switch: its function is replaced here.
    monkeypatch.setattr(actions, "lockdown_active", lambda: True)
    patient, docs = record
    with pytest.raises(actions.ActionError, match="isolé"):
        actions.write_archive(actor=personas.alice, selection=Selection(patient=patient, documents=docs),
                              out=tmp_path / "x.7z")
    assert not (tmp_path / "x.7z").exists()
    event = Event.objects.get(action=Ev.EXCHANGE_ARCHIVE_CREATED)
    assert event.outcome == Outcome.DENIED


def test_the_lockdown_hook_reads_the_incidents_switch(monkeypatch):
    import sys
    import types

    fake = types.ModuleType("hygie.incidents.lockdown")
    fake.is_active = lambda: True  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "hygie.incidents.lockdown", fake)
    assert actions.lockdown_active() is True
    fake.is_active = lambda: False  # type: ignore[attr-defined]
    assert actions.lockdown_active() is False


# --- The command line ---------------------------------------------------------------------------


@pytest.fixture
def practice(db):
    return Practice.objects.create(name="Cabinet des Lilas")


def _cli(*args: str) -> dict:
    out = io.StringIO()
    call_command("exchange", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_the_cli_writes_an_archive_and_prints_its_passphrase(personas, record, practice, tmp_path):
    patient, docs = record
    out = tmp_path / "dossier.7z"
    result = _cli("archive", "--patient", patient.code, "--documents", str(docs[1].public_id), "--out", str(out))
    assert set(result) >= {"passphrase", "archive", "files", "size"}
    assert result["files"] == 1
    listing = seven_zip("l", f"-p{result['passphrase']}", str(out))
    assert "02-radio-du-genou.png" not in listing.stdout  # numbered in the selection's order
    assert "01-radio-du-genou.png" in listing.stdout
    event = Event.objects.get(action=Ev.EXCHANGE_ARCHIVE_CREATED)
    assert event.actor_role == "cli" and event.details["via"] == "cli"


def test_the_cli_refuses_a_patient_outside_the_titulaire_reach(personas, record, practice, tmp_path):
    with pytest.raises(CommandError, match="Aucun patient"):
        out = str(tmp_path / "x.7z")
        _cli("archive", "--patient", personas.bob_patient.code, "--practitioner", "alice", "--out", out)
    with pytest.raises(CommandError, match="identifiant inconnu"):
        _cli("archive", "--patient", record[0].code, "--documents", "nope", "--out", str(tmp_path / "x.7z"))
    assert not (tmp_path / "x.7z").exists()


def test_the_cli_wraps_an_export_for_delivery(personas, practice, tmp_path):
    export = tmp_path / "export-droits.json"
    export.write_text('{"droit": "accès"}', encoding="utf-8")
    out = tmp_path / "export.7z"
    result = _cli("wrap", str(export), "--out", str(out), "--purpose", "rights")
    extracted = seven_zip("x", f"-p{result['passphrase']}", f"-o{tmp_path / 'x'}", str(out))
    assert extracted.returncode == 0
    assert (tmp_path / "x/export-droits.json").read_text(encoding="utf-8") == '{"droit": "accès"}'
    event = Event.objects.get(action=Ev.EXCHANGE_FILES_ARCHIVED)
    assert event.details == {"files": 1, "size": out.stat().st_size, "purpose": "rights"}


def test_the_cli_refuses_to_overwrite(personas, record, practice, tmp_path):
    out = tmp_path / "x.7z"
    out.write_bytes(b"keep")
    with pytest.raises(CommandError, match="existe déjà"):
        _cli("archive", "--patient", record[0].code, "--out", str(out))
    assert out.read_bytes() == b"keep"


def test_the_cli_files_a_received_archive(personas, record, practice, tmp_path):
    patient, before = record
    out = tmp_path / "aller.7z"
    result = _cli("archive", "--patient", patient.code, "--out", str(out))
    secret = tmp_path / "phrase.txt"
    secret.write_text(result["passphrase"] + "\n", encoding="utf-8")
    filed = _cli("receive", "--patient", patient.code, "--archive", str(out), "--passphrase-file", str(secret))
    assert filed == {"filed": 2, "patient": patient.code}
    assert len(list(records.documents_of(personas.alice, patient))) == len(before) + 2
    secret.write_text("mauvaise-phrase\n", encoding="utf-8")
    with pytest.raises(CommandError, match="Phrase de passe incorrecte"):
        _cli("receive", "--patient", patient.code, "--archive", str(out), "--passphrase-file", str(secret))


def test_the_hygie_command_routes_exchange():
    from hygie import cli

    assert cli._route(["exchange", "archive", "--patient", "P-X"]) == ["exchange", "archive", "--patient", "P-X"]
    assert "exchange archive | wrap | receive" in cli.HELP
