from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from hygie.accounts.models import User
from hygie.audit import labels


class JournalFilterForm(forms.Form):
    """The viewer's filters, sent as GET: a patient appears only as their pseudonymous code."""

    user = forms.ModelChoiceField(
        label=_("Utilisateur"), queryset=User.objects.order_by("last_name", "first_name", "username"),
        to_field_name="public_id", required=False, empty_label=_("Tous"),
    )
    patient = forms.RegexField(
        label=_("Code patient"), regex=r"^\s*[Pp]-[0-9A-Za-z]{8}\s*$", max_length=14, required=False,
        error_messages={"invalid": _("Un code patient a la forme P-XXXXXXXX.")},
    )
    action = forms.ChoiceField(label=_("Action"), required=False)
    start = forms.DateField(label=_("Du"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("Au"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    alert = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("Toutes")), *labels.action_choices()]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError(_("La fin de la période précède son début."))
        return data


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(
        label=_("Commentaire"), max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Ce qui a été vérifié, et la suite donnée. Pas de nom de patient."),
    )
