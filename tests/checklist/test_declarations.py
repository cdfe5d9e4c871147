"""Declared items: a person says it is done, on a date, with a note and maybe a proof (stored
encrypted); it holds a year. Bad input is refused in French and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.checklist import actions, board, proofs
from hygie.checklist.models import Declaration
from hygie.lib import crypto
from hygie.lib.selfcheck import OK, TODO, UNKNOWN
from tests.checklist.conftest import item

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_a_declaration_makes_the_item_ok_for_a_year_then_due(personas):
    today = timezone.localdate()
    actions.declare(actor=personas.regine, item_id="wifi", answer="ok", declared_on=today - timedelta(days=10),
                    note="Box en WPA3, réseau invité « Salle d'attente ».")
    row = item(board.evaluate(), "wifi")
    assert row.status == OK and "Regine" in row.detail
    assert row.expires_on == today - timedelta(days=10) + timedelta(days=365)
    expired = timezone.now() + timedelta(days=356)
    row = item(board.evaluate(now=expired), "wifi")
    assert row.status == TODO and "plus d'un an" in row.detail


def test_a_not_yet_answer_is_to_do(personas):
    actions.declare(actor=personas.adam, item_id="antivirus", answer="todo", declared_on=timezone.localdate())
    assert item(board.evaluate(), "antivirus").status == TODO


def test_it_journals_the_declaration_without_the_note(personas):
    declaration = actions.declare(
        actor=personas.regine, item_id="wifi", answer="ok", declared_on=timezone.localdate(),
        note="Mot de passe de la box changé", proof=PDF,
    )
    event = Event.objects.get(action=Ev.CHECKLIST_DECLARED)
    assert event.actor == personas.regine and event.target_id == str(declaration.pk)
    assert event.details == {"item": "wifi", "answer": "ok", "declared_on": timezone.localdate().isoformat(),
                             "proof": True}
    assert "box" not in str(event.details).lower()


def test_it_stores_the_proof_encrypted_and_bound_to_its_declaration(personas):
    first = actions.declare(actor=personas.regine, item_id="wifi", answer="ok",
                            declared_on=timezone.localdate(), proof=PDF)
    second = actions.declare(actor=personas.regine, item_id="antivirus", answer="ok",
                             declared_on=timezone.localdate(), proof=PNG)
    with connection.cursor() as cursor:
        cursor.execute("SELECT proof FROM checklist_declaration WHERE id = %s", [first.pk])
        stored = bytes(cursor.fetchone()[0])
    assert b"%PDF" not in stored and len(stored) > len(PDF)
    first.refresh_from_db()
    assert first.proof_type == "application/pdf" and first.proof_size == len(PDF)
    assert proofs.open_sealed(first.public_id, first.proof) == PDF
    # Copied onto another declaration, it does not decrypt.
    with pytest.raises(crypto.DecryptionError):
        proofs.open_sealed(second.public_id, first.proof)


def _nothing_changed():
    assert not Declaration.objects.exists()
    assert not Event.objects.filter(action=Ev.CHECKLIST_DECLARED).exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"declared_on": timezone.localdate() + timedelta(days=1)}, "ne peut pas être dans le futur"),
        ({"declared_on": timezone.localdate() - timedelta(days=400)}, "plus d'un an ne compte plus"),
        ({"declared_on": None}, "Indiquez la date"),
        ({"proof": b"MZ\x90\x00 an executable"}, "Seuls les fichiers PDF et les images"),
        ({"proof": b"Nom;Prenom\nMartin;Claire\n"}, "Seuls les fichiers PDF et les images"),
        ({"item_id": "second-facteur"}, "vérifié par Hygie lui-même"),
        ({"item_id": "nope"}, "Point de la check-list inconnu"),
        ({"answer": "peut-etre"}, "Réponse attendue"),
        ({"note": "x" * 2001}, "trop longue"),
    ],
)
def test_it_refuses_bad_input_in_french_and_changes_nothing(personas, kwargs, message):
    values = {"item_id": "wifi", "answer": "ok", "declared_on": timezone.localdate(), **kwargs}
    with pytest.raises(actions.ChecklistError, match=message):
        actions.declare(actor=personas.regine, **values)
    _nothing_changed()


def test_the_form_refuses_a_proof_that_is_not_a_pdf_or_an_image(personas, login):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = login(personas.regine)
    response = client.post(reverse("checklist_declare"), {
        "item": "wifi", "answer": "ok", "declared_on": timezone.localdate().isoformat(),
        "proof": SimpleUploadedFile("preuve.exe", b"MZ\x90\x00 not a pdf"),
    })
    assert response.status_code == 200
    assert "Seuls les fichiers PDF et les images" in response.content.decode()
    _nothing_changed()


def test_the_form_refuses_a_date_in_the_future(personas, login):
    client = login(personas.adam)
    response = client.post(reverse("checklist_declare"), {
        "item": "wifi", "answer": "ok", "declared_on": (timezone.localdate() + timedelta(days=3)).isoformat(),
    })
    assert response.status_code == 200
    assert "ne peut pas être dans le futur" in response.content.decode()
    _nothing_changed()


def test_the_form_declares_with_a_proof_and_the_proof_downloads_journaled(personas, login):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = login(personas.regine)
    response = client.post(reverse("checklist_declare"), {
        "item": "supports-chiffres", "answer": "ok", "declared_on": timezone.localdate().isoformat(),
        "note": "Deux clés USB BitLocker To Go.", "proof": SimpleUploadedFile("facture.pdf", PDF),
    })
    assert response.status_code == 302
    declaration = Declaration.objects.get()
    assert declaration.item == "supports-chiffres" and declaration.has_proof
    assert item(board.evaluate(), "supports-chiffres").status == OK
    page = client.get(reverse("checklist")).content.decode()
    assert "Deux clés USB BitLocker To Go." in page
    download = client.get(reverse("checklist_proof", kwargs={"public_id": declaration.public_id}))
    assert download.status_code == 200 and download.content == PDF
    assert download["Content-Disposition"].startswith("attachment")
    assert Event.objects.filter(action=Ev.CHECKLIST_PROOF_DOWNLOADED, actor=personas.regine).count() == 1
    assert not Event.objects.filter(action=Ev.EXPORT_UNJOURNALED).exists()


def test_a_computed_item_has_no_declare_form(personas, login):
    client = login(personas.regine)
    response = client.post(reverse("checklist_declare"), {
        "item": "second-facteur", "answer": "ok", "declared_on": timezone.localdate().isoformat(),
    })
    assert response.status_code == 404
    assert client.get(reverse("checklist_declare") + "?item=second-facteur").status_code == 302
    _nothing_changed()


def test_a_failing_server_check_overrides_a_declaration_but_a_passing_one_alone_is_not_ok(personas):
    from hygie.lib.hostprobe import Finding, Report

    report = Report(host="serveur", system="Linux", at="2026-01-01T00:00:00+00:00", findings=[
        Finding("remote_assistance", "Outils", "todo", "En cours d'exécution : AnyDesk."),
        Finding("security_updates", "MAJ", "ok", "Aucune mise à jour en attente."),
    ])
    actions.record_diagnostic(report)
    state = board.evaluate()
    assert item(state, "mises-a-jour").status == UNKNOWN  # the workstations are still unknown
    assert "Aucune mise à jour" in item(state, "mises-a-jour").detail
    actions.declare(actor=personas.adam, item_id="assistance-distance", answer="ok", declared_on=timezone.localdate())
    row = item(board.evaluate(), "assistance-distance")
    assert row.status == TODO and "AnyDesk" in row.detail
