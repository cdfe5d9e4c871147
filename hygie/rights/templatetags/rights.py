"""{% rights_panel %} on the patient page: the patient's requests and the processings blocked."""

from __future__ import annotations

from typing import Any

from django import template

from hygie.access import records
from hygie.access.policy import Cap

register = template.Library()


@register.inclusion_tag("rights/_record.html", takes_context=True)
def rights_panel(context: Any) -> dict[str, Any]:
    user = context["request"].user
    patient = context["patient"]
    if not records.can(user, Cap.RIGHTS_RECORD) or records.is_break_glass(user, patient):
        return {"rights_panel": False}
    return {
        "rights_panel": True,
        "patient": patient,
        "rights_requests": list(records.rights_requests_of(user, patient).order_by("-received_at")),
        "rights_blocked": list(records.restrictions_in_force(patient)),
    }
