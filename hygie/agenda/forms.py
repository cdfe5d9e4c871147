from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from django import forms
from django.forms.models import ModelChoiceIterator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hygie.access import records
from hygie.agenda.actions import MAX_DURATION, MIN_DURATION
from hygie.lib.text import fold

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y"]
TIME_FORMATS = ["%H:%M", "%H:%M:%S", "%Hh%M", "%HH%M", "%Hh"]


class _SortedIterator(ModelChoiceIterator):
    # Names are encrypted at rest: sort them here, never with ORDER BY.
    def __iter__(self) -> Any:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        objs = sorted(self.queryset, key=lambda o: fold(self.field.label_from_instance(o)))
        for obj in objs:
            yield self.choice(obj)


class NamedChoiceField(forms.ModelChoiceField):
    """A select of people chosen by public id (no internal id in the page), sorted by label."""

    iterator = _SortedIterator

    def __init__(self, queryset: Any, *, label_of: Any = None, **kwargs: Any) -> None:
        self._label_of = label_of or (lambda obj: obj.display_name)
        kwargs.setdefault("to_field_name", "public_id")
        kwargs.setdefault("empty_label", _("— choisir —"))
        kwargs.setdefault("error_messages", {"invalid_choice": _("Choix invalide : choisissez dans la liste.")})
        super().__init__(queryset, **kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return str(self._label_of(obj))

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except forms.ValidationError:
            # A malformed public id says the same as an unknown one.
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice") from None


def date_field(label: Any, **kwargs: Any) -> forms.DateField:
    return forms.DateField(
        label=label,
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Date invalide : utilisez le format JJ/MM/AAAA.")},
        **kwargs,
    )


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
