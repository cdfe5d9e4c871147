"""What the dashboard says about compliance, to the administrator and the referent: what the
practice profile still lacks (the register says it until it is complete) and the processors'
warnings (health data without HDS, a certificate expiring within 60 days, a contract missing,
a remote backup destination not described yet)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from hygie.access import records
from hygie.access.policy import Cap
from hygie.compliance import processors
from hygie.compliance import register as reg


def context(user: Any) -> dict[str, Any]:
    if not records.can(user, Cap.COMPLIANCE_MANAGE):
        return {"compliance": None}
    missing = reg.missing()
    return {"compliance": {"missing": missing, "warnings": processors.warnings(timezone.localdate())}}
