from datetime import timedelta

from django.utils import timezone

from hygie.agenda import actions
from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.factories import make_appointment


def test_it_erases_the_reason_once_the_appointment_has_passed(personas):
    now = timezone.now()
    past = make_appointment(personas.alice_patient, personas.alice, start=now - timedelta(days=1), reason="Toux")
    ongoing = make_appointment(
        personas.alice_patient, personas.alice, start=now - timedelta(minutes=5), duration_minutes=30, reason="Suivi"
    )
    future = make_appointment(personas.alice_patient, personas.alice, start=now + timedelta(days=1), reason="Bilan")
    assert actions.clear_past_reasons(now=now) == 1
    for appt in (past, ongoing, future):
        appt.refresh_from_db()
    assert (past.reason, ongoing.reason, future.reason) == ("", "Suivi", "Bilan")
    event = Event.objects.get(action=Ev.APPOINTMENT_UPDATED)
    assert event.target_id == str(past.pk)
    assert event.details == {"fields": ["reason"], "retention": True}
    assert actions.clear_past_reasons(now=now) == 0
