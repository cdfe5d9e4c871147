"""{% rights_panel %} on the patient page: the patient's requests and the processings blocked."""

from __future__ import annotations

from typing import Any

from django import template

from hygie.access import records
from hygie.access.policy import Cap
from hygie.rights.models import Processing

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
        # Read with the record when the page asked get_patient to (records.rights_requests_read_with_patient).
        "rights_requests": records.rights_requests_of(user, patient),
        # Read with the record when the page asked get_patient to (records.restrictions_read_with_patient).
        "rights_blocked": [Processing(value).label for value in records.blocked_processings(patient)],
    }
