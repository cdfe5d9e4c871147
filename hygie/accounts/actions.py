"""Every change to accounts and roles. Each action writes its journal event in its transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from allauth.mfa.models import Authenticator
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from hygie.access.policy import Role
from hygie.accounts.models import Replacement, User
from hygie.audit import journal
from hygie.audit.events import Ev


class ActionError(Exception):
    """A refused action. The message is French and safe to show: it names no patient."""


@transaction.atomic
def create_user(
    *,
    actor: Any,
    username: str,
    role: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    profession: str = "",
    birth_date: Any = None,
    assists: list[User] | None = None,
    must_change_password: bool = True,
) -> User:
    if role not in Role.values:
        raise ActionError(f"Rôle inconnu : {role}. Rôles possibles : {', '.join(Role.values)}.")
    if User.objects.filter(username__iexact=username).exists():
        raise ActionError(f"L'identifiant « {username} » est déjà pris.")
    user = User(
        username=username,
        role=role,
        first_name=first_name,
        last_name=last_name,
        email=email,
        profession=profession,
        birth_date=birth_date,
        must_change_password=must_change_password,
    )
    validate_password(password, user)
    user.set_password(password)
    user.save()
    if assists:
        if role not in (Role.SECRETAIRE, Role.FACTURATION):
            raise ActionError("Seuls la secrétaire et la facturation travaillent pour des praticiens.")
        user.assists.set(assists)
    journal.record(Ev.USER_CREATED, actor=actor, target=user, details={"role": role})
    return user


@transaction.atomic
def change_role(*, actor: Any, user: User, role: str) -> None:
    if role not in Role.values:
        raise ActionError("Rôle inconnu.")
    if user.pk == getattr(actor, "pk", None):
        raise ActionError("Vous ne pouvez pas changer votre propre rôle.")
    old = user.role
    if old == role:
        return
    user.role = role
    # A new role starts from a clean slate: no session keeps the old rights.
    user.session_epoch = F("session_epoch") + 1
    user.save(update_fields=["role", "session_epoch"])
    user.refresh_from_db(fields=["session_epoch"])
    if role not in (Role.SECRETAIRE, Role.FACTURATION):
        user.assists.clear()
    journal.record(Ev.USER_ROLE_CHANGED, actor=actor, target=user, details={"from": old, "to": role})


@transaction.atomic
def set_assists(*, actor: Any, user: User, practitioners: list[User]) -> None:
    if user.role not in (Role.SECRETAIRE, Role.FACTURATION):
        raise ActionError("Seuls la secrétaire et la facturation travaillent pour des praticiens.")
    if any(p.role != Role.TITULAIRE for p in practitioners):
        raise ActionError("On ne peut travailler que pour des praticiens titulaires.")
    user.assists.set(practitioners)
    journal.record(
        Ev.USER_CHANGED, actor=actor, target=user, details={"assists": sorted(p.pk for p in practitioners)}
    )


@transaction.atomic
def deactivate(*, actor: Any, user: User) -> None:
    """End of contract: the account can no longer sign in and every session ends at once."""
    if user.pk == getattr(actor, "pk", None):
        raise ActionError("Vous ne pouvez pas désactiver votre propre compte.")
    other_admins = User.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=user.pk)
    if user.role == Role.ADMIN and not other_admins.exists():
        raise ActionError("Impossible de désactiver le dernier administrateur.")
    User.objects.filter(pk=user.pk).update(
        is_active=False, deactivated_at=timezone.now(), session_epoch=F("session_epoch") + 1
    )
    user.refresh_from_db()
    journal.record(Ev.USER_DEACTIVATED, actor=actor, target=user)


@transaction.atomic
def reactivate(*, actor: Any, user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_active=True, deactivated_at=None)
    user.refresh_from_db()
    journal.record(Ev.USER_REACTIVATED, actor=actor, target=user)


@transaction.atomic
def logout_everywhere(*, actor: Any, user: User) -> None:
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    journal.record(Ev.LOGOUT_EVERYWHERE, actor=actor, target=user)


@transaction.atomic
def reset_second_factor(*, actor: Any, user: User) -> None:
    """An administrator removes every second factor of a user who lost theirs.

    The user must enrol a new one at next login; their sessions end now.
    """
    if user.pk == getattr(actor, "pk", None):
        raise ActionError("Utilisez « Mon compte » pour gérer vos propres facteurs.")
    removed = Authenticator.objects.filter(user=user).delete()[0]
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    journal.record(Ev.MFA_RESET, actor=actor, target=user, details={"removed": removed})


@transaction.atomic
def set_password_by_admin(*, actor: Any, user: User, password: str) -> None:
    """A password set by someone else must be changed by its owner at first login."""
    validate_password(password, user)
    user.set_password(password)
    user.must_change_password = True
    user.session_epoch = F("session_epoch") + 1
    user.save(update_fields=["password", "must_change_password", "session_epoch"])
    user.refresh_from_db(fields=["session_epoch"])
    journal.record(Ev.PASSWORD_SET_BY_ADMIN, actor=actor, target=user)


@transaction.atomic
def password_changed_by_owner(*, user: User) -> None:
    if user.must_change_password:
        User.objects.filter(pk=user.pk).update(must_change_password=False)
        user.must_change_password = False
    journal.record(Ev.PASSWORD_CHANGED, actor=user, target=user)


@transaction.atomic
def password_reset_requested(*, user: User | None) -> None:
    """A reset link was asked by e-mail (HYGIE_PASSWORD_RESET_BY_EMAIL): for this account, or
    for an address that matches none (no target). The address typed is never journaled."""
    journal.record(
        Ev.PASSWORD_RESET_REQUESTED, target=user, actor_role="", details={"known": user is not None}
    )


@transaction.atomic
def password_reset_by_email(*, user: User) -> None:
    """The owner set a new password through the e-mail link: every other session ends (the link
    may have been used by someone else), and the second factor is still asked at login."""
    User.objects.filter(pk=user.pk).update(must_change_password=False, session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["must_change_password", "session_epoch"])
    journal.record(Ev.PASSWORD_RESET, actor=user, target=user)


@transaction.atomic
def create_replacement(
    *, actor: Any, remplacant: User, titulaire: User, starts_at: datetime, ends_at: datetime
) -> Replacement:
    if remplacant.role != Role.REMPLACANT:
        raise ActionError("Ce compte n'a pas le rôle remplaçant.")
    if titulaire.role != Role.TITULAIRE:
        raise ActionError("On ne remplace qu'un praticien titulaire.")
    if ends_at <= starts_at:
        raise ActionError("La fin du remplacement doit suivre son début.")
    replacement = Replacement.objects.create(
        remplacant=remplacant, titulaire=titulaire, starts_at=starts_at, ends_at=ends_at
    )
    journal.record(
        Ev.REPLACEMENT_CREATED,
        actor=actor,
        target=remplacant,
        details={"titulaire": titulaire.pk, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()},
    )
    return replacement
