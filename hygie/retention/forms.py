"""Retention forms: a legal hold, lifting it, opening an archived record, approving a purge."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from hygie.patients.forms import SearchForm
from hygie.retention.actions import ARCHIVE_MIN_REASON, HOLD_MIN_REASON
from hygie.web.forms import date_field


def _reason_field(label: Any, minimum: int, help_text: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        min_length=minimum,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=help_text,
        error_messages={
            "required": _("Indiquez le motif."),
            "min_length": _("Le motif doit faire au moins %(limit_value)d caractères."),
        },
    )


class HoldForm(forms.Form):
    started_on = date_field(_("Début (date de la réclamation ou du recours)"))
    ended_on = date_field(
        _("Fin (si elle est déjà connue)"),
        required=False,
        help_text=_("Laissez vide tant que la réclamation est en cours : le dossier ne sera pas détruit."),
    )
    reason = _reason_field(
        _("Motif"),
        HOLD_MIN_REASON,
        _("Au moins 10 caractères. Il reste chiffré dans le dossier et n'apparaît pas dans le journal."),
    )


class LiftHoldForm(forms.Form):
    ended_on = date_field(_("Date de fin de la réclamation ou du recours"))


class ArchiveSearchForm(SearchForm):
    pass


class ArchiveOpenForm(forms.Form):
    reason = _reason_field(
        _("Motif de la consultation de l'archive"),
        ARCHIVE_MIN_REASON,
        _("Obligatoire, au moins 10 caractères. L'ouverture est enregistrée dans le journal et sera revue."),
    )


class ApproveForm(forms.Form):
    """One record (its public id) or every record listed ("all")."""

    target = forms.CharField(max_length=40)
