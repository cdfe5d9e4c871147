from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.factories import make_appointment


def test_it_erases_reasons_of_past_appointments_only(personas):
    past = make_appointment(personas.alice_patient, personas.alice, start=timezone.now() - timedelta(days=1))
    future = make_appointment(personas.alice_patient, personas.alice, start=timezone.now() + timedelta(days=1))
    out = StringIO()
    call_command("purge_appointment_reasons", stdout=out)
    past.refresh_from_db()
    future.refresh_from_db()
    assert past.reason == "" and future.reason == "Suivi"
    assert out.getvalue().startswith("1 ")
    assert Event.objects.filter(action=Ev.APPOINTMENT_UPDATED, target_id=str(past.pk)).exists()
