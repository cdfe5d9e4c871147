"""Incident forms: plain HTML, French messages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from hygie.accounts.models import User
from hygie.incidents import fiche, scenarios
from hygie.incidents.actions import CONTACT_FIELDS, EDITABLE, MIN_REASON
from hygie.incidents.models import Contacts, Incident
from hygie.lib.breach import Art34

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M"]


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


def when_field(label: Any, *, required: bool = True) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label, required=required, input_formats=DATETIME_FORMATS, widget=DateTimeInput(),
        error_messages={"invalid": _("Date et heure invalides : utilisez JJ/MM/AAAA HH:MM."),
                        "required": _("Indiquez la date et l'heure.")},
    )


class LockdownForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif (sans nom de patient)"), min_length=MIN_REASON, max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Indiquez le motif de l'isolement."),
                        "min_length": _("Indiquez en quelques mots le motif de l'isolement.")},
    )


class LiftForm(forms.Form):
    """The second admin or referent confirms here, with their own password and code."""

    confirmer = forms.CharField(label=_("Identifiant de la personne qui confirme"), required=False, max_length=150)
    confirmer_password = forms.CharField(label=_("Son mot de passe"), required=False,
                                         widget=forms.PasswordInput(render_value=False))
    confirmer_code = forms.CharField(label=_("Son code du second facteur"), required=False, max_length=20,
                                     widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                                                   "inputmode": "numeric"}))


class IncidentForm(forms.ModelForm):
    discovered_at = when_field(_("Découverte de l'incident"))
    aware_at = when_field(_("Prise de connaissance d'une violation de données (départ des 72 heures)"))
    started_at = when_field(_("Début de l'incident"), required=False)
    ended_at = when_field(_("Fin de l'incident"), required=False)

    class Meta:
        model = Incident
        fields = list(EDITABLE)
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in (
            "media", "circumstances", "person_categories", "data_categories", "consequences", "measures_taken",
            "measures_planned")}
        help_texts = {"title": _("Sans nom de patient : il apparaît dans les listes et le registre.")}


class OpenForm(forms.Form):
    title = forms.CharField(label=_("Intitulé (sans nom de patient)"), max_length=200)
    discovered_at = when_field(_("Découverte de l'incident"))
    aware_at = when_field(_("Prise de connaissance d'une violation de données (départ des 72 heures)"))


class EntryForm(forms.Form):
    text = forms.CharField(label=_("Ce qui vient de se passer ou d'être fait"), max_length=4000,
                           widget=forms.Textarea(attrs={"rows": 2}))


class ScopeForm(forms.Form):
    account = forms.ModelChoiceField(label=_("Compte concerné"), queryset=User.objects.order_by("username"),
                                     to_field_name="username")
    start = when_field(_("Du"))
    end = when_field(_("Au"))


class DecisionForm(forms.Form):
    notify = forms.TypedChoiceField(
        label=_("Notification à la CNIL"), coerce=lambda v: v == "yes",
        choices=[("yes", _("Notifier la CNIL")),
                 ("no", _("Ne pas notifier : la violation ne présente pas de risque pour les personnes"))],
        widget=forms.RadioSelect)
    reason = forms.CharField(label=_("Pourquoi pas de risque (obligatoire sans notification)"), required=False,
                             max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class NotifiedForm(forms.Form):
    at = when_field(_("Envoyée le"))
    reference = forms.CharField(label=_("Numéro de la notification (CNIL)"), required=False, max_length=80)
    complement = forms.BooleanField(label=_("Notification complémentaire"), required=False)
    delay_reasons = forms.CharField(label=_("Motifs du retard (après 72 heures)"), required=False, max_length=2000,
                                    widget=forms.Textarea(attrs={"rows": 2}))


ART34_CHOICES = [
    (Art34.NOTIFY.value, _("Informer chaque patient concerné (lettre)")),
    (Art34.WAIVER_ENCRYPTED.value, _("Dispense : données chiffrées, clés non exposées (art. 34(3)(a))")),
    (Art34.WAIVER_MEASURES.value, _("Dispense : mesures ultérieures écartant le risque élevé (art. 34(3)(b))")),
    (Art34.PUBLIC.value, _("Communication publique (art. 34(3)(c))")),
    (Art34.NOT_HIGH_RISK.value, _("Pas de risque élevé : pas d'information")),
]


class Art34Form(forms.Form):
    decision = forms.ChoiceField(label=_("Information des patients"), choices=ART34_CHOICES,
                                 widget=forms.RadioSelect)
    reason = forms.CharField(label=_("Justification"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))


class ContactsForm(forms.ModelForm):
    region = forms.ChoiceField(label=_("Région (CSIRT régional)"), required=False,
                               choices=[("", "—")] + [(r, r) for r in fiche.REGIONS])

    class Meta:
        model = Contacts
        fields = list(CONTACT_FIELDS)


class ExerciseForm(forms.Form):
    scenario = forms.ChoiceField(label=_("Scénario"), choices=[(s.key, s.title) for s in scenarios.SCENARIOS])


class StepForm(forms.Form):
    # Isolating and lifting are simulated by their own buttons (the switch's steps, dry run).
    step = forms.ChoiceField(choices=[(k, label) for k, label in scenarios.STEPS if k not in scenarios.SIMULATED])
