"""Close the approval requests nobody decided on in time (run by hygie.worker)."""

from __future__ import annotations

from datetime import timedelta

from hygie.approvals import actions
from hygie.worker.registry import job


@job("grant-requests-expire", every=timedelta(minutes=15), needs_keys=False)
def expire_grant_requests() -> str:
    return f"{actions.expire_due()} demandes expirées"
