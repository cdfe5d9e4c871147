"""Medical notes are append-only (issue 18, item 10): a consultation or the antécédents changed by
someone keeps every version with its author and time; the record says "modifié par"; the history
is open to whoever may read the note, journaled, and erased with the patient."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.keys import service
from hygie.patients import actions
from hygie.patients.models import AppendOnly, ConsultationRevision, HistoryRevision
from tests.factories import make_patient
from tests.keys.conftest import own_key_file  # noqa: F401 - the fixture, for the erasure test

REASON = "Patient inconscient amené au cabinet, médecin traitant absent"


def _detail(c):
    return reverse("consultation_detail", kwargs={"public_id": c.public_id})


def _history(c):
    return reverse("consultation_revisions", kwargs={"public_id": c.public_id})


def _write(personas, **extra):
    return actions.create_consultation(
        actor=personas.alice, patient=personas.alice_patient, date=timezone.now(),
        motif=extra.get("motif", "Lombalgie"), observations=extra.get("observations", "Contracture paravertébrale"),
    )


def test_a_change_under_emergency_access_is_a_new_version_by_its_author(personas, login):
    c = _write(personas)
    bob = login(personas.bob)
    opened = bob.post(reverse("break_glass_open", args=[personas.alice_patient.public_id]), {"reason": REASON})
    assert opened.status_code == 302
    r = bob.post(reverse("consultation_edit", args=[c.public_id]), {
        "date": timezone.localtime(c.date).strftime("%d/%m/%Y %H:%M"), "motif": "Lombalgie",
        "observations": "Contracture ; ajout du Dr Lefèvre",
    })
    assert r.status_code == 302

    c.refresh_from_db()
    assert c.practitioner == personas.alice  # the first author stays
    assert c.observations == "Contracture ; ajout du Dr Lefèvre"
    latest, first = c.revisions.all()
    assert (first.author, first.observations) == (personas.alice, "Contracture paravertébrale")
    assert (latest.author, latest.observations) == (personas.bob, "Contracture ; ajout du Dr Lefèvre")
    assert latest.created_at >= first.created_at

    page = login(personas.alice).get(_detail(c)).content.decode()
    assert "Modifié par Bob Lefèvre le" in page
    assert "Historique (2 versions)" in page
    record = login(personas.alice).get(reverse("patient_detail", args=[personas.alice_patient.public_id]))
    assert "modifiée" in record.content.decode()


def test_an_unchanged_consultation_says_nothing_of_a_change(personas, login):
    c = _write(personas)
    page = login(personas.alice).get(_detail(c)).content.decode()
    assert "Modifié par" not in page and "Historique (1 version)" in page


def test_a_change_by_its_own_author_is_shown_too(personas, login):
    c = _write(personas)
    actions.update_consultation(actor=personas.alice, consultation=c, data={"observations": "Corrigé"})
    assert "Modifié par Alice Durand le" in login(personas.alice).get(_detail(c)).content.decode()


def test_the_history_lists_every_version_and_is_journaled(personas, login):
    c = _write(personas)
    actions.update_consultation(actor=personas.remi, consultation=c, data={"observations": "Vu par le remplaçant"})
    client = login(personas.remi)
    body = client.get(_history(c)).content.decode()
    assert "Contracture paravertébrale" in body and "Vu par le remplaçant" in body
    assert "Alice Durand" in body and "Remi Test" in body
    assert body.index("Vu par le remplaçant") < body.index("Contracture paravertébrale")  # newest first
    event = Event.objects.get(action=Ev.CONSULTATION_REVISIONS_VIEWED)
    assert event.actor == personas.remi and event.patient_id == personas.alice_patient.pk
    assert event.details == {"revisions": 2} and event.target_id == str(c.pk)


@pytest.mark.parametrize(("who", "status"), [("bob", 404), ("sophie", 403), ("fabien", 403), ("regine", 404),
                                             ("adam", 404)])
def test_the_history_is_for_those_who_read_the_note(personas, login, who, status):
    c = _write(personas)
    body = login(getattr(personas, who)).get(_history(c))
    assert body.status_code == status
    assert not Event.objects.filter(action=Ev.CONSULTATION_REVISIONS_VIEWED).exists()


def test_antecedents_keep_their_versions(personas, login):
    patient = personas.alice_patient
    client = login(personas.alice)
    client.post(reverse("history_edit", args=[patient.public_id]), {"history": "Asthme"})
    login(personas.remi).post(reverse("history_edit", args=[patient.public_id]), {"history": "Asthme, allergie"})
    versions = list(HistoryRevision.objects.filter(patient=patient))
    assert [(v.author, v.text) for v in versions] == [(personas.remi, "Asthme, allergie"), (personas.alice, "Asthme")]
    record = client.get(reverse("patient_detail", args=[patient.public_id])).content.decode()
    assert "Modifié par Remi Test le" in record
    body = client.get(reverse("history_revisions", args=[patient.public_id])).content.decode()
    assert "Asthme, allergie" in body and "Première version" in body
    event = Event.objects.get(action=Ev.HISTORY_REVISIONS_VIEWED)
    assert event.patient_id == patient.pk and event.details == {"revisions": 2}
    assert login(personas.sophie).get(reverse("history_revisions", args=[patient.public_id])).status_code == 403
    assert login(personas.bob).get(reverse("history_revisions", args=[patient.public_id])).status_code == 404


def test_a_new_patient_with_antecedents_gets_a_first_version(personas):
    patient = actions.create_patient(actor=personas.alice, practitioner=personas.alice, data={
        "birth_name": "Roux", "first_names": "Léa", "birth_date": timezone.now().date(), "sex": "F",
        "history": "Diabète",
    })
    (v,) = HistoryRevision.objects.filter(patient=patient)
    assert (v.author, v.text) == (personas.alice, "Diabète")


def test_a_version_is_never_changed(personas):
    c = _write(personas)
    revision = c.revisions.get()
    revision.observations = "Réécrit"
    with pytest.raises(AppendOnly):
        revision.save()
    revision.refresh_from_db()
    assert revision.observations == "Contracture paravertébrale"


@pytest.mark.usefixtures("own_key_file")
def test_versions_are_encrypted_and_erased_with_the_patient(personas):
    c = _write(personas, observations="Canari-révision-123")
    actions.update_history(actor=personas.alice, patient=personas.alice_patient, history="Canari-antécédent-456")
    with connection.cursor() as cursor:
        cursor.execute("SELECT observations FROM patients_consultationrevision")
        (ciphertext,) = cursor.fetchone()
        cursor.execute("SELECT text FROM patients_historyrevision")
        (history_ciphertext,) = cursor.fetchone()
    assert "Canari" not in ciphertext and "Canari" not in history_ciphertext
    pk = personas.alice_patient.pk
    actions.erase_patient(actor=personas.alice, patient=personas.alice_patient)
    assert not ConsultationRevision.objects.filter(pk__in=[c.pk]).exists()
    assert not ConsultationRevision.objects.exists() and not HistoryRevision.objects.exists()
    service.clear_cache()
    with pytest.raises(service.MissingDataKey):
        service.data_key(pk)


def test_the_access_report_lists_who_read_the_history(personas, login):
    c = _write(personas)
    login(personas.remi).get(_history(c))
    page = login(personas.alice).get(reverse("patient_access_report", args=[personas.alice_patient.public_id]))
    assert "Historique d&#x27;une consultation consulté" in page.content.decode()


# --- Migration of the notes written before revisions -------------------------------------------


def _migrate():
    module = importlib.import_module("hygie.patients.migrations.0003_note_revisions")
    module.first_revisions(apps, connection.schema_editor())


def test_the_migration_gives_each_older_note_a_first_version_by_its_real_author(personas):
    never_changed = _write(personas, observations="Jamais modifiée")
    changed = _write(personas, observations="Modifiée par Bob")
    lost = _write(personas, observations="Modifiée, journal purgé")
    patient = make_patient(personas.alice, birth_name="Roux", history="Asthme")
    ConsultationRevision.objects.all().delete()  # as before revisions existed
    HistoryRevision.objects.all().delete()
    journal.record(Ev.CONSULTATION_UPDATED, actor=personas.bob, target=changed, details={"fields": ["observations"]})
    journal.record(Ev.HISTORY_UPDATED, actor=personas.remi, target=patient)
    from hygie.patients.models import Consultation

    Consultation.objects.filter(pk=lost.pk).update(updated_at=lost.created_at + timedelta(days=3))

    _migrate()
    assert never_changed.revisions.get().author == personas.alice
    assert changed.revisions.get().author == personas.bob
    assert lost.revisions.get().author is None  # never a guess
    assert lost.revisions.get().observations == "Modifiée, journal purgé"
    (v,) = HistoryRevision.objects.filter(patient=patient)
    assert (v.author, v.text) == (personas.remi, "Asthme")
    assert not HistoryRevision.objects.filter(patient=personas.bob_patient).exists()  # no antécédents, no version
    _migrate()  # run again: nothing doubled
    assert ConsultationRevision.objects.count() == 3 and HistoryRevision.objects.count() == 1
