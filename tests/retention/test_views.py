"""The retention pages: archive (lists, search, agenda, opening with a reason), "À détruire"
with re-authentication, legal holds through their forms, the Conservation page and the record's
header. Each refused input changes nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hygie.access import records
from hygie.audit import alerts
from hygie.audit.events import Ev
from hygie.audit.models import Alert, AlertKind, Event
from hygie.keys.models import PatientKey
from hygie.patients import actions as patient_actions
from hygie.retention import actions
from hygie.retention.models import ArchiveAccess, LegalHold
from tests.accounts.flows import reauthenticate, sign_in
from tests.factories import make_appointment, make_consultation, make_patient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def checkpoint_file(settings, tmp_path):
    settings.JOURNAL_CHECKPOINT_FILE = str(tmp_path / "journal-checkpoints.jsonl")


@pytest.fixture
def old(personas, own_key_file):
    """A record of alice's migrated from older software: last consultation 2001 (archived, due)."""
    patient = make_patient(personas.alice, birth_name="Ancien", first_names="Paul", birth_date=date(1950, 3, 12))
    patient.declared_last_visit = date(2001, 6, 15)
    patient.save()
    actions.refresh([patient])
    return patient


@pytest.fixture
def archived(personas, own_key_file):
    """Last seen 8 years ago: in the intermediate archive, not yet due."""
    patient = make_patient(personas.alice, birth_name="Archive", first_names="Lou", birth_date=date(1970, 1, 1))
    make_consultation(patient, personas.alice, date=timezone.now() - timedelta(days=8 * 366))
    actions.refresh([patient])
    return patient


def _names(response) -> str:
    return response.content.decode()


def test_an_archived_record_leaves_lists_search_and_the_secretarys_agenda(personas, login, archived):
    make_appointment(archived, personas.alice)
    client = login(personas.sophie)
    assert "ARCHIVE" not in _names(client.get(reverse("patient_list")))
    assert "ARCHIVE" not in _names(client.post(reverse("patient_search"), {"q": "Archive"}, follow=True))
    assert not records.agenda_scope(personas.sophie).filter(patient=archived).exists()
    assert client.get(reverse("patient_detail", args=[archived.public_id])).status_code == 404
    alice = login(personas.alice)
    assert "ARCHIVE" not in _names(alice.post(reverse("patient_search"), {"q": "Archive"}, follow=True))
    assert records.agenda_scope(personas.alice).filter(patient=archived).exists()
    # The active record stays where it was.
    assert "MOREAU" in _names(alice.get(reverse("patient_list")))


def test_its_titulaire_finds_it_in_the_archives_and_opens_it_with_a_reason(personas, login, archived):
    client = login(personas.alice)
    found = client.post(reverse("archive_search"), {"q": "Archive"})
    assert "ARCHIVE Lou" in _names(found)
    assert client.get(reverse("patient_detail", args=[archived.public_id])).status_code == 404

    url = reverse("archive_open", args=[archived.public_id])
    short = client.post(url, {"reason": "court"})
    assert short.status_code == 200 and "au moins 10 caractères" in _names(short)
    assert not ArchiveAccess.objects.exists()

    response = client.post(url, {"reason": "Demande de copie du dossier par le patient"})
    assert response.status_code == 302
    assert client.get(reverse("patient_detail", args=[archived.public_id])).status_code == 200
    event = Event.objects.get(action=Ev.ARCHIVE_OPENED)
    assert event.patient_id == archived.pk and "copie" not in str(event.details)
    alerts.scan()
    alert = Alert.objects.get(kind=AlertKind.BREAK_GLASS)
    assert alert.details["archive"] is True and alert.user == personas.alice
    # Bob, another titulaire, does not reach it (404), nor does the secretary's role open it (403).
    assert login(personas.bob).get(url).status_code == 404


def test_a_new_consultation_brings_it_back_to_the_active_base(personas, login, archived):
    assert records.is_archived(archived)
    patient_actions.create_consultation(actor=personas.alice, patient=archived, date=timezone.now(), motif="Retour")
    assert not records.is_archived(archived)
    assert "ARCHIVE" in _names(login(personas.sophie).post(reverse("patient_search"), {"q": "Archive"}, follow=True))


def test_the_due_page_lists_rule_and_date_and_approval_needs_reauthentication(personas, old):
    client = Client()
    sign_in(client, personas.alice)
    page = client.get(reverse("retention_due"))
    assert page.status_code == 200
    assert "ANCIEN Paul" in _names(page) and "15/06/2021" in _names(page) and "RET-1" in _names(page)

    # The password again (allauth's re-authentication), then the approval of every listed record.
    assert reauthenticate(client).status_code == 302
    asked = client.post(reverse("retention_approve"), {"target": "all"})
    assert asked.status_code == 302 and asked["Location"] == reverse("retention_due")
    assert not PatientKey.objects.filter(patient_id=old.pk).exists()
    approved = Event.objects.get(action=Ev.RETENTION_PURGE_APPROVED)
    assert approved.actor_id == personas.alice.pk and approved.details["via"] == "web"
    assert "Aucun dossier à détruire" in _names(client.get(reverse("retention_due")))


def test_approval_asks_the_password_when_the_login_is_old(personas, login, old):
    client = login(personas.alice)  # no recent authentication in this session
    response = client.post(reverse("retention_approve"), {"target": str(old.public_id)})
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_reauthenticate"))
    assert PatientKey.objects.filter(patient_id=old.pk).exists()


def test_a_hold_through_the_form_keeps_the_record_and_bad_dates_change_nothing(personas, login, old):
    client = login(personas.alice)
    url = reverse("hold_create", args=[old.public_id])
    bad = client.post(url, {"started_on": "2024-02-01", "ended_on": "2024-01-01", "reason": "Recours contentieux"})
    assert bad.status_code == 200 and "La fin de la suspension ne peut pas précéder son début." in _names(bad)
    future = client.post(url, {"started_on": "2999-01-01", "reason": "Recours contentieux"})
    assert "ne peut pas commencer dans le futur" in _names(future)
    assert not LegalHold.objects.exists()

    assert client.post(url, {"started_on": "2024-02-01", "reason": "Recours contentieux"}).status_code == 302
    assert actions.due(personas.alice) == []
    event = Event.objects.get(action=Ev.RETENTION_HOLD_SET)
    assert "contentieux" not in str(event.details)
    overview = _names(client.get(reverse("retention")))
    assert "ANCIEN Paul" in overview and "01/02/2024" in overview

    hold = LegalHold.objects.get()
    lift = reverse("hold_lift", args=[hold.public_id])
    assert "précéder son début" in _names(client.post(lift, {"ended_on": "2024-01-01"}))
    assert client.post(lift, {"ended_on": "2024-03-02"}).status_code == 302
    # The claim came after the expiry (2021-06-15): nothing to suspend, but the record was kept
    # until the claim ended, and is due from that day (hygie.lib.retention, module doc).
    [item] = actions.due(personas.alice)
    assert (item.expired_on, item.decision.rule) == (date(2024, 3, 2), "RET-1+RET-4")


def test_the_identity_form_refuses_impossible_dates(personas, login, own_key_file):
    patient = make_patient(personas.alice, birth_name="Dates", birth_date=date(1980, 5, 17))
    client = login(personas.alice)
    url = reverse("patient_edit", args=[patient.public_id])
    base = {"birth_name": "Dates", "first_names": "Claire", "birth_date": "17/05/1980", "sex": "F"}
    before = Event.objects.filter(action=Ev.PATIENT_UPDATED).count()
    for extra, message in (
        ({"death_date": "01/01/1970"}, "La date de décès ne peut pas précéder la date de naissance."),
        ({"declared_last_visit": "01/01/2999"}, "La dernière consultation ne peut pas être dans le futur."),
        ({"declared_last_visit": "01/01/1970"}, "La dernière consultation ne peut pas précéder la date de naissance."),
    ):
        response = client.post(url, {**base, **extra})
        assert response.status_code == 200 and message in _names(response)
    patient.refresh_from_db()
    assert patient.death_date is None and patient.declared_last_visit is None
    assert Event.objects.filter(action=Ev.PATIENT_UPDATED).count() == before
    assert client.post(url, {**base, "death_date": "01/01/2020"}).status_code == 302
    patient.refresh_from_db()
    assert patient.death_date == date(2020, 1, 1)
    # The action refuses it too (a caller without the form).
    with pytest.raises(Exception, match="précéder la date de naissance"):
        patient_actions.update_identity(actor=personas.alice, patient=patient, data={"death_date": date(1970, 1, 1)})


def test_the_record_header_shows_the_retention_date_and_rule(personas, login, archived):
    client = login(personas.alice)
    client.post(reverse("archive_open", args=[archived.public_id]), {"reason": "Courrier d'un confrère reçu"})
    page = _names(client.get(reverse("patient_detail", args=[archived.public_id])))
    decision = actions.decide(archived)
    assert f"Conservé jusqu'au {decision.expires:%d/%m/%Y} (RET-1)" in page
    assert "Archive intermédiaire" in page


def test_the_referent_sees_counts_only(personas, login, old, archived):
    actions.set_hold(actor=personas.alice, patient=archived, started_on=date(2024, 1, 1), reason="Réclamation amiable")
    page = _names(login(personas.regine).get(reverse("retention")))
    assert "ANCIEN" not in page and "ARCHIVE" not in page and "Lever la suspension" not in page
    assert "Suspensions en cours" in page
    assert login(personas.regine).get(reverse("retention_due")).status_code == 403
    assert login(personas.sophie).get(reverse("retention")).status_code == 403


def test_an_emergency_access_reaches_an_archived_record_of_a_colleague(personas, login, archived):
    patient_actions.open_break_glass(personas.bob, archived, "Urgence : patient inconscient aux urgences")
    assert login(personas.bob).get(reverse("patient_detail", args=[archived.public_id])).status_code == 200
    # Still out of everyday lists for the others.
    found = login(personas.sophie).post(reverse("patient_search"), {"q": "Archive"}, follow=True)
    assert "ARCHIVE" not in _names(found)
