"""Template context: the lockdown in force, for the banner of every page and of the login page
(what is happening, whom to call)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from hygie.incidents import fiche
from hygie.incidents import lockdown as state


def lockdown(request: HttpRequest) -> dict[str, Any]:
    row = getattr(request, "hygie_lockdown", None)
    if row is None:
        return {}
    calls = [(who, how) for who, how in fiche.practice_contacts() if how] + fiche.NATIONAL[:1]
    return {"hygie_lockdown": row, "hygie_lockdown_contacts": calls}


__all__ = ["lockdown", "state"]
