"""Every change to care sheets. Each action writes its journal event in its transaction.

Callers have fetched the care sheet (or checked the capability) through hygie.access.records;
the actions check again what only they can know: that the practitioner follows the patient.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hygie.access import records
from hygie.access.policy import Role
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.billing.models import CareSheet, FavouriteAct

MAX_AMOUNT = Decimal("9999.99")
EDITABLE_FIELDS = ("patient", "practitioner", "date", "acts", "amount", "paid")


class ActionError(Exception):
    """A refused action. The message is French and names no patient."""


def _check(actor: Any, values: dict[str, Any]) -> None:
    practitioner, patient = values["practitioner"], values["patient"]
    if practitioner is None or practitioner.role != Role.TITULAIRE or not practitioner.is_active:
        raise ActionError(_("Une feuille de soins est établie au nom d'un praticien titulaire actif."))
    if practitioner.pk not in records.practitioner_scope(actor):
        raise ActionError(_("Vous ne travaillez pas pour ce praticien."))
    if not patient.care_team.filter(practitioner=practitioner).exists():
        raise ActionError(_("Ce patient n'est pas suivi par ce praticien."))
    amount = values["amount"]
    if amount is None or not Decimal("0") <= amount <= MAX_AMOUNT:
        raise ActionError(_("Le montant doit être compris entre 0 et 9 999,99 €."))
    if values["date"] > timezone.localdate():
        raise ActionError(_("La date des soins ne peut pas être dans le futur."))
    if not (values["acts"] or "").strip():
        raise ActionError(_("Indiquez les actes."))


@transaction.atomic
def create_care_sheet(
    *, actor: Any, patient: Any, practitioner: Any, date: date, acts: str, amount: Decimal, paid: bool = False
) -> CareSheet:
    values = {"patient": patient, "practitioner": practitioner, "date": date, "acts": acts.strip(), "amount": amount}
    _check(actor, values)
    sheet = CareSheet(**values, paid=paid)
    sheet.full_clean()
    sheet.save()
    journal.record(Ev.CARE_SHEET_CREATED, actor=actor, target=sheet, details={"practitioner": practitioner.pk})
    return sheet


@transaction.atomic
def update_care_sheet(*, actor: Any, sheet: CareSheet, data: dict[str, Any]) -> list[str]:
    """Change the fields of `data` (among EDITABLE_FIELDS). Returns the names of the fields
    changed (journaled, without their values)."""
    if "acts" in data:
        data = {**data, "acts": (data["acts"] or "").strip()}
    new = {name: data[name] if name in data else getattr(sheet, name) for name in EDITABLE_FIELDS}
    changed = [name for name in EDITABLE_FIELDS if getattr(sheet, name) != new[name]]
    if not changed:
        return []
    # Check before touching the instance: a refused change leaves it as it was.
    _check(actor, new)
    for name in changed:
        setattr(sheet, name, new[name])
    sheet.full_clean()
    sheet.save()
    journal.record(Ev.CARE_SHEET_UPDATED, actor=actor, target=sheet, details={"fields": changed})
    return changed


@transaction.atomic
def set_paid(*, actor: Any, sheet: CareSheet, paid: bool) -> bool:
    """Mark a care sheet paid or unpaid. Returns True if it changed."""
    if sheet.paid == paid:
        return False
    sheet.paid = paid
    sheet.save(update_fields=["paid"])
    journal.record(Ev.CARE_SHEET_UPDATED, actor=actor, target=sheet, details={"fields": ["paid"], "paid": paid})
    return True


MAX_FAVOURITES = 30


@transaction.atomic
def add_favourite(*, actor: Any, practitioner: Any, acts: str, amount: Decimal) -> FavouriteAct:
    """A usual act of `practitioner` with its usual amount, offered first on the care sheet form."""
    acts = (acts or "").strip()
    if practitioner is None or practitioner.role != Role.TITULAIRE or practitioner.pk not in records.practitioner_scope(
        actor
    ):
        raise ActionError(_("Vous ne travaillez pas pour ce praticien."))
    if not acts:
        raise ActionError(_("Indiquez les actes."))
    if amount is None or not Decimal("0") <= amount <= MAX_AMOUNT:
        raise ActionError(_("Le montant doit être compris entre 0 et 9 999,99 €."))
    favourites = FavouriteAct.objects.select_for_update().filter(practitioner=practitioner)
    if favourites.filter(acts=acts).exists():
        raise ActionError(_("Cet acte figure déjà parmi les actes habituels de ce praticien."))
    if favourites.count() >= MAX_FAVOURITES:
        raise ActionError(_("30 actes habituels au plus par praticien : retirez-en un d'abord."))
    favourite = FavouriteAct(practitioner=practitioner, acts=acts, amount=amount)
    favourite.full_clean()
    favourite.save()
    journal.record(
        Ev.FAVOURITE_ACT_ADDED,
        actor=actor,
        details={"practitioner": practitioner.pk, "favourite": str(favourite.public_id)},
    )
    return favourite


@transaction.atomic
def remove_favourite(*, actor: Any, favourite: FavouriteAct) -> None:
    journal.record(
        Ev.FAVOURITE_ACT_REMOVED,
        actor=actor,
        details={"practitioner": favourite.practitioner_id, "favourite": str(favourite.public_id)},
    )
    favourite.delete()


def record_export(*, actor: Any, count: int, month: str, unpaid_only: bool) -> None:
    """The accountant's CSV: counts and filters journaled, never its content."""
    journal.record(
        Ev.BILLING_EXPORTED, actor=actor, details={"count": count, "month": month, "unpaid_only": unpaid_only}
    )


def record_receipt(*, actor: Any, sheet: CareSheet) -> None:
    journal.record(Ev.RECEIPT_ISSUED, actor=actor, target=sheet, details={"practitioner": sheet.practitioner_id})
