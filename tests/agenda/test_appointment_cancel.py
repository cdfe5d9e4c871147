from hygie.agenda.models import Appointment
from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.factories import make_appointment


def _url(appt):
    return f"/agenda/{appt.public_id}/annuler/"


def test_it_redirects_anonymous_to_login(personas, client):
    appt = make_appointment(personas.alice_patient, personas.alice)
    r = client.post(_url(appt))
    assert r.status_code == 302
    assert "/auth/login/" in r["Location"]
    assert Appointment.objects.filter(pk=appt.pk).exists()


def test_it_accepts_post_only(personas, login):
    appt = make_appointment(personas.alice_patient, personas.alice)
    assert login(personas.alice).get(_url(appt)).status_code == 405
    assert Appointment.objects.filter(pk=appt.pk).exists()


def test_it_hides_another_practitioners_appointment(personas, login):
    appt = make_appointment(personas.alice_patient, personas.alice)
    assert login(personas.bob).post(_url(appt)).status_code == 404
    assert Appointment.objects.filter(pk=appt.pk).exists()


def test_it_forbids_roles_without_the_agenda(personas, login):
    appt = make_appointment(personas.alice_patient, personas.alice)
    for user in (personas.fabien, personas.regine, personas.adam):
        assert login(user).post(_url(appt)).status_code == 403
    assert Appointment.objects.filter(pk=appt.pk).exists()


def test_it_deletes_the_appointment_and_keeps_only_ids(personas, login):
    appt = make_appointment(personas.alice_patient, personas.alice, reason="Douleur lombaire")
    r = login(personas.sophie).post(_url(appt))
    assert r.status_code == 302
    assert r["Location"].startswith("/agenda/?jour=")
    assert not Appointment.objects.filter(pk=appt.pk).exists()
    event = Event.objects.get(action=Ev.APPOINTMENT_CANCELLED)
    assert event.actor == personas.sophie
    assert event.target_id == str(appt.pk)
    assert event.patient_id == personas.alice_patient.pk
    assert event.details == {"practitioner": personas.alice.pk}
