from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hygie.access import records
from hygie.access.policy import Cap
from hygie.billing.actions import MAX_AMOUNT
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


class CareSheetForm(forms.Form):
    practitioner = NamedChoiceField(queryset=None, label=_("Praticien"))
    date = date_field(_("Date des soins"), help_text=_("JJ/MM/AAAA"))
    acts = forms.CharField(
        label=_("Actes"),
        max_length=200,
        help_text=_("Codes des actes, par exemple G, APC, TC."),
        error_messages={"max_length": _("200 caractères au plus.")},
    )
    amount = AmountField(
        label=_("Montant (€)"),
        min_value=Decimal("0"),
        max_value=MAX_AMOUNT,
        max_digits=6,
        decimal_places=2,
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=_("Par exemple 25,50"),
        error_messages={
            "invalid": _("Montant invalide : indiquez un nombre, par exemple 25,50."),
            "min_value": _("Le montant ne peut pas être négatif."),
            "max_value": _("Le montant ne peut pas dépasser 9 999,99 €."),
            "max_digits": _("Le montant ne peut pas dépasser 9 999,99 €."),
            "max_whole_digits": _("Le montant ne peut pas dépasser 9 999,99 €."),
            "max_decimal_places": _("Deux chiffres après la virgule au plus."),
        },
    )
    paid = forms.BooleanField(label=_("Réglé"), required=False)

    field_order = ["patient", "practitioner", "date", "acts", "amount", "paid"]

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        patients = records.billing_patients(user)
        if records.can(user, Cap.BILLING_SEES_NAMES):
            self.fields["patient"] = NamedChoiceField(
                queryset=patients, label=_("Patient"), label_of=lambda p: records.billing_patient_label(user, p)
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
