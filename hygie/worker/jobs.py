"""Jobs of apps whose own `jobs.py` does not exist yet."""

from __future__ import annotations

from datetime import timedelta

from hygie.agenda.actions import clear_past_reasons
from hygie.worker.registry import job


@job("appointment-reasons-purge", every=timedelta(days=1))
def purge_appointment_reasons() -> str:
    # RET-6: the reason of a past appointment is no longer needed.
    return f"{clear_past_reasons()} motifs effacés"
