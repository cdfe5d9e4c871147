"""Is Hygie isolated right now? Read by the guards that enforce it: the lockdown middleware
(hygie.incidents.middleware), the login adapter (hygie.accounts.adapters), the backups
(hygie.backups.service, hygie.backups.restore) and the attachment guard.

The state is one row in the database, read on every request: every server process sees the
switch at the same moment (no per-process cache to go stale).
"""

from __future__ import annotations

from typing import Any

from hygie.incidents.models import Lockdown


class LockedDown(Exception):
    """Refused because Hygie is isolated. The message is French, for the user."""


def current() -> Lockdown | None:
    """The lockdown in force, if any (an exercise never locks anything)."""
    return (
        Lockdown.objects.filter(lifted_at__isnull=True, exercise=False)
        .select_related("allowed_user")
        .order_by("-started_at")
        .first()
    )


def is_active() -> bool:
    return Lockdown.objects.filter(lifted_at__isnull=True, exercise=False).exists()


def may_sign_in(user: Any, lockdown: Lockdown | None = None) -> bool:
    """During a lockdown only the admin account allowed at the machine may sign in."""
    lockdown = lockdown if lockdown is not None else current()
    if lockdown is None:
        return True
    return lockdown.allowed_user_id is not None and lockdown.allowed_user_id == getattr(user, "pk", None)


def refuse_backups_to(unlocked: str) -> None:
    """For the backups: raise LockedDown when a copy would go to (or be read from) a
    destination that a compromised machine could then reach (BAK-2, seed 003)."""
    if is_active():
        raise LockedDown(
            f"Hygie est isolé (incident en cours) : pas de sauvegarde ni de lecture vers « {unlocked} », "
            "destination sans verrouillage des objets. Ne reconnectez pas les sauvegardes avant "
            "l'avis d'un expert."
        )
