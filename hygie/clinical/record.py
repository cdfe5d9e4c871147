"""What the record page shows above and beside its sections: the banner (age, allergies,
current treatments, alerts, practitioner, retention) and the evolution of the vital signs.

Built from what the page has already fetched (the consultations, and the user's drafts read with
them and with the patient: hygie.clinical.drafts) plus one query for the current items: the
record page stays within its query budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from hygie.clinical import drafts
from hygie.clinical.models import ItemKind, RecordItem
from hygie.core import frozen
from hygie.lib import vitals
from hygie.patients.models import Patient

# Documents opened in the browser: what every browser displays itself (TIFF is downloaded).
VIEWABLE = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"})


@dataclass(frozen=True)
class Chart:
    label: str
    unit: str
    svg: SafeString
    rows: list[tuple[Any, str]]


def _fr(value: Any) -> str:
    return format(value.normalize(), "f").replace(".", ",") if value is not None else ""


def charts(consultations: list[Any]) -> list[Chart]:
    """One small chart per measure that has at least one value, oldest to newest."""
    ordered = sorted((c for c in consultations if c.has_vitals), key=lambda c: c.date)
    out: list[Chart] = []

    def pts(getter: Any) -> tuple[vitals.Point, ...]:
        return tuple(vitals.Point(c.date, v) for c in ordered if (v := getter(c)) is not None)

    specs = [
        ("Poids", "kg", pts(lambda c: c.weight_kg), ()),
        ("IMC", "kg/m²", pts(lambda c: c.bmi), ()),
        ("Pression artérielle", "mmHg", pts(lambda c: c.systolic), pts(lambda c: c.diastolic)),
        ("Pouls", "/min", pts(lambda c: c.pulse), ()),
        ("Température", "°C", pts(lambda c: c.temperature), ()),
    ]
    for label, unit, main, second in specs:
        if not main:
            continue
        series = vitals.Series(label, unit, main, second)
        if second:
            by_date = {p.when: p.value for p in second}
            rows = [(p.when, f"{_fr(p.value)} / {_fr(by_date.get(p.when))}") for p in main]
        else:
            rows = [(p.when, _fr(p.value)) for p in main]
        # The markup is built and escaped by hygie.lib.vitals from numbers and fixed labels.
        out.append(Chart(label, unit, mark_safe(vitals.svg(series)), rows[::-1]))  # noqa: S308
    return out


def _open_items(patient_pk: int) -> QuerySet[RecordItem]:
    return RecordItem.objects.filter(patient_id=patient_pk, ended_at__isnull=True).select_related("author")


def summary(user: Any, patient: Patient, consultations: list[Any], care_team: list[Any]) -> dict[str, Any]:
    # Compiled once per process (hygie.core.frozen): the record page is the page opened most.
    items = list(frozen.queryset(_open_items, patient.pk))
    for item in items:
        item._state.fields_cache["patient"] = patient
    latest_vitals = next((c for c in consultations if c.has_vitals), None)
    return {
        "age": vitals.age(patient.birth_date, timezone.localdate()),
        "allergies": [i for i in items if i.kind == ItemKind.ALLERGY],
        "treatments": [i for i in items if i.kind == ItemKind.TREATMENT],
        "alerts": [i for i in items if i.kind == ItemKind.ALERT],
        "referent_practitioner": care_team[0].practitioner if care_team else None,
        "vital_charts": charts(consultations),
        "latest_vitals": latest_vitals,
        "viewable_types": VIEWABLE,
        "my_drafts": drafts.lines(user, patient, consultations),
    }
