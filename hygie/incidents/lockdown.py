"""Is Hygie isolated right now? Read by the guards that enforce it: the lockdown middleware
(hygie.incidents.middleware), the login adapter (hygie.accounts.adapters), the backups
(hygie.backups.service, hygie.backups.restore) and the attachment guard.

The state is one row in the database, read on every request: every server process sees the
switch at the same moment (no per-process cache to go stale). For a signed-in user it is read in
the same query as the user (`read_with_user`, hygie.accounts.backends.HygieBackend.get_user),
which every request makes anyway: the answer is as fresh as a separate read, one query less.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Subquery
from django.http import HttpRequest

from hygie.incidents.models import Lockdown

# Set on the user object the request loaded: the id of the lockdown in force then, or None.
_WITH_USER = "hygie_lockdown_id"
_UNREAD = object()


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


def read_with_user() -> dict[str, Subquery]:
    """The annotation that reads, with the request's user, which lockdown is in force."""
    in_force = Lockdown.objects.filter(lifted_at__isnull=True, exercise=False).order_by("-started_at")
    return {_WITH_USER: Subquery(in_force.values("pk")[:1])}


def for_request(request: HttpRequest) -> Lockdown | None:
    """`current()` for this request: no second query when the request's user was read with the
    answer a moment ago in this request (HygieBackend.get_user), and none is in force. During a
    lockdown, or for a visitor not signed in, the row is read as always."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and getattr(user, _WITH_USER, _UNREAD) is None:
        return None
    return current()


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
