from datetime import datetime, time, timedelta

from django.utils import timezone

from hygie.agenda.models import Appointment
from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.factories import make_appointment

URL = "/agenda/nouveau/"


def _day():
    return timezone.localdate() + timedelta(days=1)


def _post(client, personas, **overrides):
    data = {
        "practitioner": str(personas.alice.public_id),
        "patient": str(personas.alice_patient.public_id),
        "day": _day().strftime("%d/%m/%Y"),
        "time": "10:00",
        "duration_minutes": "20",
        "reason": "Suivi tension",
    }
    data.update(overrides)
    return client.post(URL, data)


def test_it_redirects_anonymous_to_login(client, db):
    r = client.get(URL)
    assert r.status_code == 302
    assert "/auth/login/" in r["Location"]


def test_it_forbids_roles_without_the_agenda(personas, login):
    for user in (personas.fabien, personas.regine, personas.adam):
        assert login(user).get(URL).status_code == 403
        assert _post(login(user), personas).status_code == 403
    assert not Appointment.objects.exists()


def test_it_lists_no_patient_before_a_search(personas, login):
    # The form no longer decrypts the whole patientèle into a select: the picker searches.
    body = login(personas.sophie).get(URL).content.decode()
    assert "MOREAU Jeanne" not in body
    assert "cherchez-le" in body


def test_it_creates_an_appointment(personas, login):
    r = _post(login(personas.sophie), personas)
    assert r.status_code == 302
    appt = Appointment.objects.get()
    assert appt.practitioner == personas.alice
    assert appt.patient == personas.alice_patient
    assert timezone.localtime(appt.start) == timezone.make_aware(datetime.combine(_day(), time(10, 0)))
    assert appt.duration_minutes == 20
    assert f"jour={_day().isoformat()}" in r["Location"]


def test_it_accepts_an_iso_date_from_the_date_input(personas, login):
    r = _post(login(personas.alice), personas, day=_day().isoformat())
    assert r.status_code == 302
    assert Appointment.objects.count() == 1


def test_it_lets_the_remplacant_book_for_the_replaced_titulaire(personas, login):
    assert _post(login(personas.remi), personas).status_code == 302
    assert Appointment.objects.get().practitioner == personas.alice


def test_it_refuses_a_patient_outside_the_scope(personas, login):
    r = _post(login(personas.sophie), personas, patient=str(personas.bob_patient.public_id))
    assert r.status_code == 200
    assert "Choisissez un patient de la patientèle de ce praticien" in r.content.decode()
    assert not Appointment.objects.exists()


def test_it_refuses_a_practitioner_outside_the_scope(personas, login):
    r = _post(login(personas.alice), personas, practitioner=str(personas.bob.public_id))
    assert r.status_code == 200
    assert not Appointment.objects.exists()


def test_it_refuses_a_patient_the_practitioner_does_not_follow(personas, login):
    personas.sophie.assists.add(personas.bob)
    r = _post(login(personas.sophie), personas, practitioner=str(personas.bob.public_id))
    assert r.status_code == 200
    assert "pas suivi par ce praticien" in r.content.decode()
    assert not Appointment.objects.exists()


def test_it_refuses_an_overlapping_appointment(personas, login):
    start = timezone.make_aware(datetime.combine(_day(), time(9, 50)))
    make_appointment(personas.alice_patient, personas.alice, start=start, duration_minutes=20)
    r = _post(login(personas.sophie), personas, time="10:05")
    assert r.status_code == 200
    assert "chevauche un autre rendez-vous" in r.content.decode()
    assert Appointment.objects.count() == 1
    assert not Event.objects.filter(action=Ev.APPOINTMENT_CREATED).exists()


def test_it_accepts_back_to_back_appointments(personas, login):
    start = timezone.make_aware(datetime.combine(_day(), time(9, 40)))
    make_appointment(personas.alice_patient, personas.alice, start=start, duration_minutes=20)
    assert _post(login(personas.alice), personas, time="10:00").status_code == 302
    assert Appointment.objects.count() == 2


def test_it_allows_the_same_slot_for_another_practitioner(personas, login):
    start = timezone.make_aware(datetime.combine(_day(), time(10, 0)))
    make_appointment(personas.bob_patient, personas.bob, start=start)
    assert _post(login(personas.alice), personas).status_code == 302


def test_it_rejects_bad_input_in_french(personas, login):
    client = login(personas.alice)
    cases = {
        "day": ("31/02/2025", "Date invalide"),
        "time": ("25h99", "Heure invalide"),
        "duration_minutes": ("3", "entre 5 et 240 minutes"),
        "reason": ("x" * 121, "limité à 120 caractères"),
    }
    for field, (value, message) in cases.items():
        r = _post(client, personas, **{field: value})
        assert r.status_code == 200, field
        assert message in r.content.decode(), field
    r = _post(client, personas, duration_minutes="241")
    assert "entre 5 et 240 minutes" in r.content.decode()
    assert not Appointment.objects.exists()


def test_it_writes_appointment_created_without_patient_data(personas, login):
    _post(login(personas.sophie), personas)
    appt = Appointment.objects.get()
    event = Event.objects.get(action=Ev.APPOINTMENT_CREATED)
    assert event.actor == personas.sophie
    assert event.target_id == str(appt.pk)
    assert event.patient_id == personas.alice_patient.pk
    assert "Moreau" not in str(event.details) and "tension" not in str(event.details)
