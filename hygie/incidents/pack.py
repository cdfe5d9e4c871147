"""What the « contrôle CNIL » pack (issue 19, another app) takes from incidents: the register
of breaches (art. 33(5)) and the fiche réflexe. Real incidents only, never exercises; no patient
data (counts, categories, decisions, dates)."""

from __future__ import annotations

from typing import Any

from hygie.incidents import fiche
from hygie.incidents.models import Incident


def entries() -> list[dict[str, Any]]:
    """One dict per incident of the register, oldest first."""
    out = []
    for i in Incident.objects.filter(exercise=False).order_by("aware_at", "id"):
        out.append({
            "id": str(i.public_id), "title": i.title, "established": i.established,
            "discovered_at": i.discovered_at, "aware_at": i.aware_at, "started_at": i.started_at,
            "ended_at": i.ended_at, "origin": i.get_origin_display(), "cause": i.get_cause_display(),
            "nature": [n for n, flag in (("confidentialité", i.confidentiality), ("intégrité", i.integrity),
                                         ("disponibilité", i.availability)) if flag],
            "persons_count": i.persons_count, "records_count": i.records_count,
            "consequences": i.consequences, "measures_taken": i.measures_taken,
            "measures_planned": i.measures_planned,
            "notification": i.get_notification_display(), "no_notification_reason": i.no_notification_reason,
            "notified_at": i.notified_at, "complement_at": i.complement_at, "delay_reasons": i.delay_reasons,
            "art34": i.art34, "patient_notices": i.notices.count(), "closed_at": i.closed_at,
        })
    return out


def fiche_reflexe_pdf() -> bytes:
    return fiche.fiche_pdf()
