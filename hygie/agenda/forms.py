from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hygie.access import records
from hygie.agenda.actions import MAX_DURATION, MIN_DURATION
from hygie.web.forms import NamedChoiceField, date_field

TIME_FORMATS = ["%H:%M", "%H:%M:%S", "%Hh%M", "%HH%M", "%Hh"]


class AppointmentForm(forms.Form):
    practitioner = NamedChoiceField(queryset=None, label=_("Praticien"))
    patient = NamedChoiceField(queryset=None, label=_("Patient"))
    day = date_field(_("Date"), help_text=_("JJ/MM/AAAA"))
    time = forms.TimeField(
        label=_("Heure"),
        input_formats=TIME_FORMATS,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": _("Heure invalide : utilisez le format HH:MM, par exemple 14:30.")},
    )
    duration_minutes = forms.IntegerField(
        label=_("Durée (minutes)"),
        min_value=MIN_DURATION,
        max_value=MAX_DURATION,
        initial=20,
        error_messages={
            "invalid": _("Indiquez une durée en minutes, par exemple 20."),
            "min_value": _("La durée doit être comprise entre 5 et 240 minutes."),
            "max_value": _("La durée doit être comprise entre 5 et 240 minutes."),
        },
    )
    reason = forms.CharField(
        label=_("Motif"),
        max_length=120,
        required=False,
        help_text=_("Court et sans détail médical. Il est effacé une fois le rendez-vous passé."),
        error_messages={"max_length": _("Le motif est limité à 120 caractères.")},
    )

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        practitioners = records.agenda_practitioners(user)
        cast(NamedChoiceField, self.fields["practitioner"]).queryset = practitioners
        cast(NamedChoiceField, self.fields["patient"]).queryset = records.patient_scope(user)
        if len(practitioners) == 1 and not self.initial.get("practitioner"):
            self.initial["practitioner"] = practitioners[0].public_id

    @classmethod
    def initial_for(cls, appointment: Any) -> dict[str, Any]:
        local = timezone.localtime(appointment.start)
        return {
            "practitioner": appointment.practitioner.public_id,
            "patient": appointment.patient.public_id,
            "day": local.date(),
            "time": local.time().replace(second=0, microsecond=0),
            "duration_minutes": appointment.duration_minutes,
            "reason": appointment.reason,
        }

    def appointment_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        start = timezone.make_aware(datetime.combine(data["day"], data["time"]))
        return {
            "practitioner": data["practitioner"],
            "patient": data["patient"],
            "start": start,
            "duration_minutes": data["duration_minutes"],
            "reason": data["reason"],
        }


def parse_day(value: str | None) -> date | None:
    """A day given in a query string (?jour=AAAA-MM-JJ), or None if absent or malformed."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
