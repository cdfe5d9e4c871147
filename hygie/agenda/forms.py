from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hygie.access import records
from hygie.agenda.actions import MAX_DURATION, MIN_DURATION
from hygie.web.forms import NamedChoiceField, date_field

TIME_FORMATS = ["%H:%M", "%H:%M:%S", "%Hh%M", "%HH%M", "%Hh"]


def patient_label(patient: Any) -> str:
    """How the picker names a patient: name, birth date and pseudonymous code."""
    born = patient.birth_date.strftime("%d/%m/%Y") if patient.birth_date else "?"
    return _("%(name)s — né(e) le %(born)s — %(code)s") % {
        "name": patient.display_name,
        "born": born,
        "code": patient.code,
    }


class AppointmentForm(forms.Form):
    """The patient is picked among the chosen practitioner's patients: a search (`patient_q`,
    POSTed, name or birth date) lists them as radio buttons. Without JavaScript the « Chercher »
    button submits the form and the page comes back with the results; with it, static/agenda.js
    fetches them (POST, agenda_patient_search) as one types."""

    practitioner = NamedChoiceField(queryset=None, label=_("Praticien"))
    patient_q = forms.CharField(
        label=_("Rechercher le patient"),
        required=False,
        max_length=100,
        help_text=_("Nom, prénom ou date de naissance (JJ/MM/AAAA), parmi les patients du praticien."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    patient = forms.ChoiceField(
        label=_("Patient"),
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choisissez le patient : cherchez-le par son nom ou sa date de naissance."),
            "invalid_choice": _("Choisissez un patient de la patientèle de ce praticien."),
        },
    )
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

    confirm_past = forms.BooleanField(
        label=_("Je confirme ce rendez-vous dans le passé (saisie a posteriori)."),
        required=False,
    )

    def __init__(self, user: Any, *args: Any, candidates: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        practitioners = records.agenda_practitioners(user)
        cast(NamedChoiceField, self.fields["practitioner"]).queryset = practitioners
        if len(practitioners) == 1 and not self.initial.get("practitioner"):
            self.initial["practitioner"] = practitioners[0].public_id
        # The radio buttons: the search results, plus the patient already chosen (kept when
        # the form comes back with an error or a new search).
        self.patients: dict[str, Any] = {}
        chosen = self.data.get("patient") if self.is_bound else self.initial.get("patient")
        if chosen:
            found = self._resolve(str(chosen))
            if found is not None:
                self.patients[str(found.public_id)] = found
        for p in candidates or []:
            self.patients.setdefault(str(p.public_id), p)
        cast(forms.ChoiceField, self.fields["patient"]).choices = [
            (key, patient_label(p)) for key, p in self.patients.items()
        ]

    def _resolve(self, public_id: str) -> Any:
        try:
            key = uuid.UUID(public_id)
        except ValueError:
            return None
        return records.patient_scope(self.user).filter(public_id=key).first()

    def clean_patient(self) -> Any:
        return self.patients[self.cleaned_data["patient"]]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        day, at = data.get("day"), data.get("time")
        if day and at and not self.errors:
            start = timezone.make_aware(datetime.combine(day, at))
            if start < timezone.now() and not data.get("confirm_past"):
                self.add_error(
                    "confirm_past",
                    _("Ce rendez-vous est dans le passé : vérifiez la date, ou cochez la case pour confirmer."),
                )
        return data

    def practitioner_chosen(self) -> Any:
        """The practitioner the patient is searched for: the one submitted, else the initial."""
        field = cast(NamedChoiceField, self.fields["practitioner"])
        value = self.data.get("practitioner") if self.is_bound else self.initial.get("practitioner")
        if not value:
            return None
        try:
            return field.queryset.filter(public_id=uuid.UUID(str(value))).first()
        except ValueError:
            return None

    def is_past(self) -> bool:
        """The date and time shown are in the past (the form warns before it is submitted)."""
        source = self.data if self.is_bound else self.initial
        field_day = self.fields["day"]
        field_time = self.fields["time"]
        try:
            day = field_day.clean(source.get("day")) if self.is_bound else source.get("day")
            at = field_time.clean(source.get("time")) if self.is_bound else source.get("time")
        except forms.ValidationError:
            return False
        if not day:
            return False
        if not at:
            return bool(day < timezone.localdate())
        return bool(timezone.make_aware(datetime.combine(day, at)) < timezone.now())

    @classmethod
    def initial_for(cls, appointment: Any) -> dict[str, Any]:
        local = timezone.localtime(appointment.start)
        return {
            "practitioner": appointment.practitioner.public_id,
            "patient": str(appointment.patient.public_id),
            "day": local.date(),
            "time": local.time().replace(second=0, microsecond=0),
            "duration_minutes": appointment.duration_minutes,
            "reason": appointment.reason,
            "confirm_past": True,
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


def parse_time(value: str | None) -> Any:
    """A time given in a query string (?heure=HH:MM), or None if absent or malformed."""
    if not value:
        return None
    try:
        return datetime.strptime(value, "%H:%M").time()
    except ValueError:
        return None
