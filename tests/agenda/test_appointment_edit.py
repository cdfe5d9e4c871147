from datetime import datetime, time, timedelta

from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.factories import make_appointment


def _start(hour, minute=0):
    day = timezone.localdate() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _url(appt):
    return f"/agenda/{appt.public_id}/modifier/"


def _data(personas, appt, **overrides):
    local = timezone.localtime(appt.start)
    data = {
        "practitioner": str(appt.practitioner.public_id),
        "patient": str(appt.patient.public_id),
        "day": local.strftime("%d/%m/%Y"),
        "time": local.strftime("%H:%M"),
        "duration_minutes": str(appt.duration_minutes),
        "reason": appt.reason,
    }
    data.update(overrides)
    return data


def test_it_redirects_anonymous_to_login(personas, client):
    appt = make_appointment(personas.alice_patient, personas.alice)
    r = client.get(_url(appt))
    assert r.status_code == 302
    assert "/auth/login/" in r["Location"]


def test_it_hides_another_practitioners_appointment(personas, login):
    appt = make_appointment(personas.alice_patient, personas.alice)
    client = login(personas.bob)
    assert client.get(_url(appt)).status_code == 404
    assert client.post(_url(appt), _data(personas, appt, reason="x")).status_code == 404


def test_it_forbids_roles_without_the_agenda(personas, login):
    appt = make_appointment(personas.alice_patient, personas.alice)
    for user in (personas.fabien, personas.regine, personas.adam):
        assert login(user).get(_url(appt)).status_code == 403


def test_it_answers_404_for_an_unknown_appointment(personas, login):
    r = login(personas.alice).get("/agenda/00000000-0000-4000-8000-000000000000/modifier/")
    assert r.status_code == 404


def test_it_shows_the_form_with_current_values(personas, login):
    appt = make_appointment(personas.alice_patient, personas.alice, start=_start(15, 45), reason="Vaccin")
    body = login(personas.sophie).get(_url(appt)).content.decode()
    assert 'value="15:45"' in body
    assert 'value="Vaccin"' in body


def test_it_moves_an_appointment(personas, login):
    appt = make_appointment(personas.alice_patient, personas.alice, start=_start(9))
    r = login(personas.sophie).post(_url(appt), _data(personas, appt, time="11:30", duration_minutes="30"))
    assert r.status_code == 302
    appt.refresh_from_db()
    assert timezone.localtime(appt.start).time() == time(11, 30)
    assert appt.duration_minutes == 30
    event = Event.objects.get(action=Ev.APPOINTMENT_UPDATED)
    assert event.actor == personas.sophie
    assert event.target_id == str(appt.pk)
    assert sorted(event.details["fields"]) == ["duration_minutes", "start"]


def test_it_does_not_see_itself_as_an_overlap(personas, login):
    appt = make_appointment(personas.alice_patient, personas.alice, start=_start(9), duration_minutes=30)
    r = login(personas.alice).post(_url(appt), _data(personas, appt, time="09:10"))
    assert r.status_code == 302


def test_it_refuses_a_move_onto_another_appointment(personas, login):
    make_appointment(personas.alice_patient, personas.alice, start=_start(10), duration_minutes=60)
    appt = make_appointment(personas.alice_patient, personas.alice, start=_start(9), duration_minutes=20)
    r = login(personas.alice).post(_url(appt), _data(personas, appt, time="10:30"))
    assert r.status_code == 200
    assert "chevauche un autre rendez-vous" in r.content.decode()
    appt.refresh_from_db()
    assert timezone.localtime(appt.start).time() == time(9, 0)
    assert not Event.objects.filter(action=Ev.APPOINTMENT_UPDATED).exists()


def test_it_writes_nothing_when_nothing_changed(personas, login):
    appt = make_appointment(personas.alice_patient, personas.alice, start=_start(9))
    r = login(personas.alice).post(_url(appt), _data(personas, appt))
    assert r.status_code == 302
    assert not Event.objects.filter(action=Ev.APPOINTMENT_UPDATED).exists()
