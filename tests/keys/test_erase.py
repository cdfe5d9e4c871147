"""Crypto-shredding: an explicit titulaire action; the data key goes first, the register stays."""

from __future__ import annotations

import html
import io
import json

import pytest
from django.db import connection

from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.keys import service
from hygie.keys.models import ErasureRegister, PatientKey
from hygie.patients import actions
from hygie.patients.models import BlindIndex, Patient
from tests.accounts.flows import reauthenticate
from tests.factories import make_appointment, make_care_sheet, make_consultation

PDF = b"%PDF-1.4\n%%EOF\n"


def _url(patient):
    return f"/patients/{patient.public_id}/effacer/"


def _history(personas):
    patient = personas.alice_patient
    make_consultation(patient, personas.alice, observations="Secret médical")
    make_appointment(patient, personas.alice)
    make_care_sheet(patient, personas.alice)
    doc = actions.upload_document(
        actor=personas.alice, patient=patient, title="CR", kind="compte_rendu", fileobj=io.BytesIO(PDF)
    )
    return patient, doc


def _reauthenticated(client):
    assert reauthenticate(client).status_code == 302
    return client


def test_it_asks_to_reauthenticate_first(personas, login):
    """An irreversible action: a signed-in session is not enough, like the recovery kit."""
    patient, _ = _history(personas)
    client = login(personas.alice)
    for r in (client.get(_url(patient)), client.post(_url(patient), {"code": patient.code})):
        assert r.status_code == 302 and "/auth/reauthenticate/" in r["Location"]
    assert Patient.objects.filter(pk=patient.pk).exists()
    assert PatientKey.objects.filter(patient_id=patient.pk).exists()
    assert not Event.objects.filter(action=Ev.PATIENT_ERASED).exists()
    # Once identity is confirmed again, the typed code is still asked for.
    _reauthenticated(client)
    assert patient.code in client.get(_url(patient)).content.decode()


def test_it_asks_for_the_patients_code(personas, login):
    patient, _ = _history(personas)
    client = _reauthenticated(login(personas.alice))
    assert patient.code in client.get(_url(patient)).content.decode()
    r = client.post(_url(patient), {"code": "P-WRONG000"})
    assert r.status_code == 200 and "Ce n'est pas le code de ce patient" in html.unescape(r.content.decode())
    assert Patient.objects.filter(pk=patient.pk).exists()


def test_it_shreds_the_patient(personas, login, settings, own_key_file, django_capture_on_commit_callbacks):
    patient, doc = _history(personas)
    pk = patient.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT observations FROM patients_consultation WHERE patient_id = %s", [pk])
        (ciphertext,) = cursor.fetchone()
    blob = settings.DOCUMENTS_DIR / doc.storage_name
    assert blob.exists()

    with django_capture_on_commit_callbacks(execute=True):
        r = _reauthenticated(login(personas.alice)).post(_url(patient), {"code": patient.code.lower()}, follow=True)
    assert r.redirect_chain[-1][0] == "/patients/"
    assert "effacé définitivement" in r.content.decode()

    assert not Patient.objects.filter(pk=pk).exists()
    assert not PatientKey.objects.filter(patient_id=pk).exists()
    assert not BlindIndex.objects.filter(patient_id=pk).exists()
    assert not blob.exists()
    assert ErasureRegister.objects.filter(patient_ref=pk).exists()
    line = json.loads(service.erasure_file().read_text().splitlines()[-1])
    assert line["patient"] == pk and set(line) == {"patient", "erased_at"}
    event = Event.objects.get(action=Ev.PATIENT_ERASED)
    assert event.patient_id == pk and event.actor == personas.alice
    assert "Moreau" not in json.dumps(event.details)
    # A copy of the ciphertext (an old page, a backup) has no key left to open it.
    assert ciphertext and service.clear_cache() is None
    try:
        service.data_key(pk)
    except service.MissingDataKey:
        pass
    else:
        raise AssertionError("the data key survived")


def test_a_restore_erases_again_the_patients_erased_after_the_backup(personas, own_key_file):
    patient, _ = _history(personas)
    pk = patient.pk
    actions.erase_patient(actor=personas.alice, patient=patient)
    # A restored database brings the patient back, the register in the database goes back too;
    # the file next to the key file remembers.
    from django.db import transaction

    with transaction.atomic():
        ErasureRegister.objects.all().delete()
    service.erasure_file().write_text(json.dumps({"patient": pk, "erased_at": "2026-01-01T00:00:00+00:00"}) + "\n")
    restored = Patient(pk=pk, birth_name="Moreau", first_names="Jeanne", sex="F", birth_date=patient.birth_date)
    restored.save()
    Patient.objects.filter(pk=pk).update(created_at=patient.created_at.replace(year=2025))  # as it was in the backup
    assert Patient.objects.filter(pk=pk).exists()
    assert actions.reapply_erasures() == [pk]
    assert not Patient.objects.filter(pk=pk).exists() and not PatientKey.objects.filter(patient_id=pk).exists()
    assert ErasureRegister.objects.filter(patient_ref=pk).exists()


def test_only_titulaires_of_the_care_team_erase(personas, login):
    patient = personas.alice_patient
    # Scope and role are checked before re-authentication is asked for.
    for user in (personas.remi, personas.sophie):
        assert login(user).post(_url(patient), {"code": patient.code}).status_code == 403
    assert login(personas.bob).post(_url(patient), {"code": patient.code}).status_code == 404
    assert _reauthenticated(login(personas.bob)).post(_url(patient), {"code": patient.code}).status_code == 404
    assert Patient.objects.filter(pk=patient.pk).exists()


def test_a_new_patient_who_reuses_an_erased_patients_id_is_not_erased(personas, own_key_file):
    """Restoring an old backup sets the id sequence back: a patient created afterwards can get
    the id of one erased after that backup. Only a patient who existed at the erasure goes."""
    patient, _ = _history(personas)
    pk = patient.pk
    actions.erase_patient(actor=personas.alice, patient=patient)
    newcomer = Patient(pk=pk, birth_name="Petit", first_names="Noé", sex="M", birth_date=patient.birth_date)
    newcomer.save()  # created now, after the erasure
    assert actions.reapply_erasures() == []
    assert Patient.objects.filter(pk=pk).exists()
    # Erased in turn, the newcomer's later date is the one remembered.
    actions.erase_patient(actor=personas.alice, patient=Patient.objects.get(pk=pk))
    register = ErasureRegister.objects.get(patient_ref=pk)
    assert register.erased_at > newcomer.created_at


# --- Break-the-glass reasons (issue 18, item 9) ----------------------------------------------


def _journal(client) -> str:
    r = client.get("/journal/")
    assert r.status_code == 200
    return r.content.decode()


def test_erasure_makes_a_break_the_glass_reason_unreadable(personas, login, own_key_file):
    access = actions.open_break_glass(personas.bob, personas.alice_patient, "Urgence : patient inconscient")
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM patients_breakglassaccess WHERE id = %s", [access.pk])
        (ciphertext,) = cursor.fetchone()
    assert "Urgence" not in ciphertext  # encrypted under the patient's data key
    assert "Urgence : patient inconscient" in _journal(login(personas.regine))

    actions.erase_patient(actor=personas.alice, patient=personas.alice_patient)
    service.clear_cache()
    with pytest.raises(service.MissingDataKey):
        service.data_key(personas.alice_patient.pk)
    page = _journal(login(personas.regine))
    assert "Urgence : patient inconscient" not in page and "motif effacé avec le dossier" in page


def test_reasons_written_in_the_journal_by_earlier_versions_are_masked(personas, login, own_key_file):
    """Before the access rows, the reason went to the event's `reason` column, which the hash
    chain keeps. It is masked like the others, and no longer shown once the patient is erased."""
    journal.record(Ev.BREAK_GLASS, actor=personas.bob, target=personas.alice_patient, reason="Ancien motif clinique")
    assert "Ancien motif clinique" in _journal(login(personas.regine))
    page = _journal(login(personas.adam))
    assert "Ancien motif clinique" not in page and "motif masqué" in page
    actions.erase_patient(actor=personas.alice, patient=personas.alice_patient)
    page = _journal(login(personas.regine))
    assert "Ancien motif clinique" not in page and "motif effacé avec le dossier" in page
