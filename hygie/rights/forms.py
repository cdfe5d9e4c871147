"""Rights register forms. Plain HTML forms: they work without JavaScript."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from hygie.rights.models import (
    Channel,
    HeirGround,
    IdentityDocument,
    Processing,
    RefusalGround,
    Requester,
    Right,
)
from hygie.web.forms import date_field

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]


class RequestForm(forms.Form):
    right = forms.ChoiceField(label=_("Droit exercé"), choices=Right.choices)
    received_at = forms.DateTimeField(
        label=_("Reçue le"),
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": _("Date invalide : utilisez le format JJ/MM/AAAA HH:MM.")},
        help_text=_("Le délai légal court à partir de cette date."),
    )
    channel = forms.ChoiceField(label=_("Reçue par"), choices=Channel.choices)
    requester = forms.ChoiceField(label=_("Demandeur"), choices=Requester.choices)
    requester_name = forms.CharField(
        label=_("Nom du demandeur"), max_length=150, required=False,
        help_text=_("Si ce n'est pas le patient lui-même."),
    )
    quality_seen = forms.CharField(
        label=_("Justificatif de sa qualité vu"), max_length=300, required=False,
        help_text=_("Livret de famille, jugement de tutelle, acte de décès et acte de notoriété… Décrivez ce "
                    "qui a été vu ; n'en gardez pas de copie."),
    )
    heir_ground = forms.ChoiceField(
        label=_("Motif de l'ayant droit"), choices=[("", "—"), *HeirGround.choices], required=False
    )
    deceased_objected = forms.BooleanField(
        label=_("Le patient s'est opposé de son vivant à la communication à ses ayants droit"), required=False
    )
    minor_objected = forms.BooleanField(
        label=_("Le patient mineur s'est opposé à ce que ses parents soient informés (CSP L1111-5)"), required=False
    )
    identity_document = forms.ChoiceField(label=_("Pièce d'identité vue"), choices=IdentityDocument.choices)
    identity_seen = forms.CharField(
        label=_("Ce qui a été vérifié"), max_length=300, required=False,
        help_text=_("Par exemple : nom, prénoms et photo concordants, pièce en cours de validité. "
                    "Jamais de copie de la pièce."),
    )


class ExtendForm(forms.Form):
    notice_on = date_field(_("Patient informé de la prolongation le"))
    reason = forms.ChoiceField(
        label=_("Motif"),
        choices=[("complexite", _("Complexité de la demande")), ("nombre", _("Nombre de demandes"))],
    )


class AnswerForm(forms.Form):
    note = forms.CharField(
        label=_("Réponse apportée (conservée comme preuve)"), required=False, max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RefuseForm(forms.Form):
    ground = forms.ChoiceField(
        label=_("Motif du refus"),
        choices=[c for c in RefusalGround.choices if c[0] != RefusalGround.RETENTION],
    )
    note = forms.CharField(
        label=_("Explication donnée au patient"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ErasureRefuseForm(forms.Form):
    note = forms.CharField(
        label=_("Explication donnée au patient"), required=False, max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RestrictionForm(forms.Form):
    processing = forms.ChoiceField(label=_("Traitement à bloquer"), choices=Processing.choices)
