"""Whether a processing may run on a record: the flags that restriction and objection requests
set (RGPD art. 18 and 21). A feature that sends reminders or exchanges documents asks here first:

    if restrictions.blocks(patient, Processing.REMINDERS): skip

A flag on "tout" blocks every processing but keeping the record.
"""

from __future__ import annotations

from typing import Any

from hygie.access import records
from hygie.rights.models import Processing


def blocked(patient: Any) -> set[str]:
    """The processings blocked on this record, now."""
    return set(records.restrictions_in_force(patient).values_list("processing", flat=True))


def blocks(patient: Any, processing: str) -> bool:
    found = blocked(patient)
    return processing in found or Processing.ALL in found
