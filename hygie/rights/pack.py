"""What the compliance pack (issue 19) takes from the rights register: the answers given to
patients' requests, as proof (seed 004: « les réponses apportées aux personnes ayant exercé un de
leurs droits »). Codes, rights, dates and statuses only: never a name, never a note.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.utils import timezone

from hygie.access import records


def entries(since: date | None = None) -> list[dict[str, Any]]:
    """Every request received on or after `since` (all when None), oldest first.

    Keys: request (uuid), patient_code, right, requester, channel, received_on, due_on, rule,
    extended_on, status ("en_cours", "repondue", "refusee"), answered_on, on_time (None while
    open and not late), refusal_ground, kept_until, record_erased. Dates are ISO strings."""
    qs = records.all_rights_requests().order_by("received_at", "pk")
    if since is not None:
        qs = qs.filter(received_at__gte=timezone.make_aware(datetime.combine(since, time.min)))
    today = timezone.localdate()
    rows = []
    for r in qs.only(
        "public_id", "patient_id", "patient_code", "right", "requester", "channel", "received_at", "due_on",
        "rule", "extended_on", "status", "answered_on", "refusal_ground", "kept_until",
    ):
        if r.answered_on is not None:
            on_time: bool | None = r.answered_on <= r.due_on
        else:
            on_time = False if today > r.due_on else None
        rows.append({
            "request": str(r.public_id),
            "patient_code": r.patient_code,
            "right": r.right,
            "requester": r.requester,
            "channel": r.channel,
            "received_on": timezone.localdate(r.received_at).isoformat(),
            "due_on": r.due_on.isoformat(),
            "rule": r.rule,
            "extended_on": r.extended_on.isoformat() if r.extended_on else None,
            "status": r.status,
            "answered_on": r.answered_on.isoformat() if r.answered_on else None,
            "on_time": on_time,
            "refusal_ground": r.refusal_ground or None,
            "kept_until": r.kept_until.isoformat() if r.kept_until else None,
            "record_erased": r.patient_id is None,
        })
    return rows
