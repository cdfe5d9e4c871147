from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hygie.access import records
from hygie.access.policy import Cap
from hygie.billing.actions import MAX_AMOUNT
from hygie.lib import money
from hygie.web.forms import NamedChoiceField, date_field

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_CODE = re.compile(r"^P-[0-9A-Z]{8}$")


class AmountField(forms.DecimalField):
    """Euros as typed in France: « 25,50 », « 25.50 », « 1 025,50 € »."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            value = re.sub(r"[\s\u00a0\u202f€]", "", value).replace(",", ".")
        return super().to_python(value)


class PatientCodeField(forms.CharField):
    """The billing clerk types the pseudonymous code (P-XXXXXXXX); she never sees a name."""

    def __init__(self, queryset: Any, **kwargs: Any) -> None:
        self.queryset = queryset
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        code = re.sub(r"\s", "", super().to_python(value) or "").upper()
        if not code:
            return None
        if len(code) == 8:
            code = "P-" + code
        elif len(code) == 9 and code.startswith("P"):
            code = "P-" + code[1:]
        if not _CODE.match(code):
            raise forms.ValidationError(_("Code patient invalide : il s'écrit P- suivi de 8 caractères."))
        patient = self.queryset.filter(code=code).first()
        if patient is None:
            raise forms.ValidationError(_("Aucun patient de votre périmètre ne porte ce code."))
        return patient

    def prepare_value(self, value: Any) -> Any:
        return getattr(value, "code", value)


def _amount_field(**kwargs: Any) -> AmountField:
    return AmountField(
        label=_("Montant (€)"),
        min_value=Decimal("0"),
        max_value=MAX_AMOUNT,
        max_digits=6,
        decimal_places=2,
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=_("Par exemple 25,50"),
        error_messages={
            "required": _("Indiquez le montant."),
            "invalid": _("Montant invalide : indiquez un nombre, par exemple 25,50."),
            "min_value": _("Le montant ne peut pas être négatif."),
            "max_value": _("Le montant ne peut pas dépasser 9 999,99 €."),
            "max_digits": _("Le montant ne peut pas dépasser 9 999,99 €."),
            "max_whole_digits": _("Le montant ne peut pas dépasser 9 999,99 €."),
            "max_decimal_places": _("Deux chiffres après la virgule au plus."),
        },
        **kwargs,
    )


def favourite_label(favourite: Any, *, with_practitioner: bool) -> str:
    label = f"{favourite.acts} — {money.euros(favourite.amount)}"
    if with_practitioner:
        label += f" ({favourite.practitioner.display_name})"
    return label


class CareSheetForm(forms.Form):
    """`favourite`: one of the practitioner's usual acts; it fills the acts and the amount left
    blank (static/billing/billing.js fills them as soon as it is chosen)."""

    practitioner = NamedChoiceField(queryset=None, label=_("Praticien"))
    date = date_field(_("Date des soins"), help_text=_("JJ/MM/AAAA"))
    favourite = forms.ChoiceField(
        label=_("Acte habituel"),
        required=False,
        help_text=_("Remplit les actes et le montant laissés vides."),
        error_messages={"invalid_choice": _("Choix invalide : choisissez dans la liste.")},
    )
    acts = forms.CharField(
        label=_("Actes"),
        required=False,
        max_length=200,
        help_text=_("Codes des actes, par exemple G, APC, TC."),
        error_messages={"max_length": _("200 caractères au plus.")},
    )
    amount = _amount_field(required=False)
    paid = forms.BooleanField(label=_("Réglé"), required=False)

    field_order = ["patient", "practitioner", "date", "favourite", "acts", "amount", "paid"]

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        patients = records.billing_patients(user)
        if records.can(user, Cap.BILLING_SEES_NAMES):
            self.fields["patient"] = NamedChoiceField(
                queryset=patients,
                label=_("Patient"),
                label_of=lambda p: f"{records.billing_patient_label(user, p)} — {p.code}",
            )
        else:
            self.fields["patient"] = PatientCodeField(
                patients,
                label=_("Code patient"),
                help_text=_("Le code pseudonyme du patient, par exemple P-4KQ7M2XA."),
                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "maxlength": "20"}),
            )
        self.order_fields(self.field_order)
        practitioners = records.agenda_practitioners(user)
        cast(NamedChoiceField, self.fields["practitioner"]).queryset = practitioners
        if len(practitioners) == 1 and not self.initial.get("practitioner"):
            self.initial["practitioner"] = practitioners[0].public_id
        self.initial.setdefault("date", timezone.localdate())
        several = len(practitioners) > 1
        self.favourites = {str(f.public_id): f for f in records.favourite_acts(user)}
        favourite = cast(forms.ChoiceField, self.fields["favourite"])
        favourite.choices = [("", _("— aucun —"))] + [
            (key, favourite_label(f, with_practitioner=several)) for key, f in self.favourites.items()
        ]
        favourite.widget.attrs["data-favourites"] = json.dumps(
            {key: {"acts": f.acts, "amount": money.plain(f.amount)} for key, f in self.favourites.items()}
        )
        if not self.favourites:
            favourite.widget = forms.HiddenInput()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        favourite = self.favourites.get(data.get("favourite") or "")
        if favourite is not None:
            practitioner = data.get("practitioner")
            if practitioner is not None and favourite.practitioner_id != practitioner.pk:
                self.add_error("favourite", _("Cet acte habituel est celui d'un autre praticien."))
                return data
            if not (data.get("acts") or "").strip():
                data["acts"] = favourite.acts
            if data.get("amount") is None and "amount" not in self.errors:
                data["amount"] = favourite.amount
        if not (data.get("acts") or "").strip() and "acts" not in self.errors:
            self.add_error("acts", _("Indiquez les actes, ou choisissez un acte habituel."))
        if data.get("amount") is None and "amount" not in self.errors:
            self.add_error("amount", _("Indiquez le montant, ou choisissez un acte habituel."))
        data.pop("favourite", None)
        return data

    @classmethod
    def initial_for(cls, user: Any, sheet: Any) -> dict[str, Any]:
        sees_names = records.can(user, Cap.BILLING_SEES_NAMES)
        return {
            "patient": sheet.patient.public_id if sees_names else sheet.patient.code,
            "practitioner": sheet.practitioner.public_id,
            "date": sheet.date,
            "acts": sheet.acts,
            "amount": sheet.amount,
            "paid": sheet.paid,
        }


class BillingFilterForm(forms.Form):
    """The list's filters, from the query string: ?mois=AAAA-MM&impayees=1."""

    mois = forms.CharField(
        label=_("Mois"),
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "AAAA-MM"}),
    )
    impayees = forms.BooleanField(label=_("Non réglées seulement"), required=False)

    def clean_mois(self) -> tuple[int, int] | None:
        value = (self.cleaned_data.get("mois") or "").strip()
        if not value:
            return None
        match = _MONTH.match(value)
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise forms.ValidationError(_("Mois invalide : utilisez le format AAAA-MM."))
        return int(match.group(1)), int(match.group(2))


class FavouriteActForm(forms.Form):
    practitioner = NamedChoiceField(queryset=None, label=_("Praticien"))
    acts = forms.CharField(
        label=_("Actes"),
        max_length=200,
        help_text=_("Codes des actes, par exemple G ou G + MCG."),
        error_messages={"required": _("Indiquez les actes."), "max_length": _("200 caractères au plus.")},
    )
    amount = _amount_field()

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        practitioners = records.agenda_practitioners(user)
        cast(NamedChoiceField, self.fields["practitioner"]).queryset = practitioners
        if len(practitioners) == 1 and not self.initial.get("practitioner"):
            self.initial["practitioner"] = practitioners[0].public_id
