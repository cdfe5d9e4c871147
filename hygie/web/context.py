from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from hygie.access import records
from hygie.access.policy import Cap


def hygie(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    nav: dict[str, bool] = {}
    if user is not None and user.is_authenticated:
        nav = {
            "patients": records.can(user, Cap.PATIENT_LIST),
            "agenda": records.can(user, Cap.AGENDA_VIEW),
            "billing": records.can(user, Cap.BILLING_VIEW),
            "users": records.can(user, Cap.USERS_MANAGE),
            "journal": records.can(user, Cap.JOURNAL_VIEW),
            "keys": records.can(user, Cap.KEYS_MANAGE),
            "backups": records.can(user, Cap.BACKUPS_MANAGE),
            "checklist": records.can(user, Cap.CHECKLIST_VIEW),
            "retention": records.can(user, Cap.RETENTION_COUNTS),
            "incidents": records.can(user, Cap.INCIDENT_MANAGE),
            "rights": records.can(user, Cap.RIGHTS_RECORD),
            "compliance": records.can(user, Cap.COMPLIANCE_MANAGE),
            "mssante_account": records.can(user, Cap.EXCHANGE_CONFIGURE),
            "mssante_recipients": records.can(user, Cap.EXCHANGE_RECIPIENTS),
        }
    return {
        "nav": nav,
        "idle_lock_seconds": settings.IDLE_LOCK_MINUTES * 60,
    }
