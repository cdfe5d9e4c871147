"""Forms of the structured record. Refusals in French; nothing saved until valid."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from hygie.clinical.models import ItemKind, TemplateKind


class ItemForm(forms.Form):
    kind = forms.ChoiceField(choices=ItemKind.choices, widget=forms.HiddenInput)
    label = forms.CharField(
        label=_("Intitulé"), max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": _("Indiquez l'intitulé."), "max_length": _("200 caractères au plus.")},
    )
    detail = forms.CharField(
        label=_("Précision"), max_length=300, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"max_length": _("300 caractères au plus.")},
    )


class TemplateForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=TemplateKind.choices)
    title = forms.CharField(label=_("Nom du modèle"), max_length=120,
                            error_messages={"required": _("Donnez un nom au modèle.")})
    body = forms.CharField(
        label=_("Texte"), max_length=8000, widget=forms.Textarea(attrs={"rows": 14}),
        error_messages={"required": _("Le modèle doit avoir un texte."),
                        "max_length": _("8 000 caractères au plus.")},
    )


class LetterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=TemplateKind.choices)
    title = forms.CharField(label=_("Titre"), max_length=200,
                            error_messages={"required": _("Donnez un titre au courrier.")})
    body = forms.CharField(
        label=_("Texte"), max_length=20000, widget=forms.Textarea(attrs={"rows": 16}),
        error_messages={"required": _("Le courrier doit avoir un texte.")},
    )
