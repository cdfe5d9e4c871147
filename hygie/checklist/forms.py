from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from hygie.accounts.models import User
from hygie.checklist import proofs
from hygie.checklist.actions import NOTE_MAX
from hygie.checklist.catalogue import CourseKind
from hygie.checklist.models import Answer
from hygie.web.forms import NamedChoiceField, date_field


class DeclarationForm(forms.Form):
    answer = forms.ChoiceField(label=_("Où en est-on ?"), choices=Answer.choices, widget=forms.RadioSelect)
    declared_on = date_field(_("Date de la vérification"))
    note = forms.CharField(
        label=_("Note (comment, par qui, sur quels postes ; aucune donnée patient)"),
        required=False, max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 3}),
    )
    proof = forms.FileField(
        label=_("Justificatif (facultatif : PDF ou image, %(max)s Mo au plus)") % {"max": proofs.PROOF_MAX_MB},
        required=False,
    )

    def clean_proof(self) -> bytes | None:
        upload = self.cleaned_data.get("proof")
        if not upload:
            return None
        try:
            return proofs.read_upload(upload)
        except proofs.ProofError as exc:
            raise forms.ValidationError(str(exc)) from None


class TrainingForm(forms.Form):
    person = NamedChoiceField(User.objects.filter(is_active=True), label=_("Personne"))
    course = forms.ChoiceField(label=_("Formation"), choices=CourseKind.CHOICES)
    title = forms.CharField(label=_("Intitulé (séance interne, autre formation)"), required=False, max_length=120)
    followed_on = date_field(_("Suivie le"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = User.objects.filter(is_active=True)
