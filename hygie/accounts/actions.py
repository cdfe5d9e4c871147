"""Every change to accounts and roles. Each action writes its journal event in its transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from allauth.mfa.models import Authenticator
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from hygie.access import records
from hygie.access.policy import Role
from hygie.accounts.models import Replacement, User
from hygie.approvals import actions as approvals
from hygie.approvals.models import GrantRequest, Kind
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
def change_role(*, actor: Any, user: User, role: str) -> GrantRequest | None:
    """Change a role at once, except giving the titulaire role back to an account still on care
    teams: that reopens its patients' records, so the referent approves it after the delay
    (hygie.approvals). Returns the pending request then, None when applied."""
    if role not in Role.values:
        raise ActionError("Rôle inconnu.")
    if user.pk == getattr(actor, "pk", None):
        raise ActionError("Vous ne pouvez pas changer votre propre rôle.")
    if user.role == role:
        return None
    if role == Role.TITULAIRE and user.pk in records.titulaires_reached_by(user):
        return approvals.request_grant(
            kind=Kind.ROLE, actor=actor, account=user, titulaires=[user.pk], payload={"role": role}
        )
    apply_role(actor=actor, user=user, role=role)
    return None


def apply_role(*, actor: Any, user: User, role: str, request: str = "") -> None:
    old = user.role
    user.role = role
    # A new role starts from a clean slate: no session keeps the old rights, no replacement
    # survives (coming back as a remplaçant needs a new, approved, replacement).
    user.session_epoch = F("session_epoch") + 1
    user.save(update_fields=["role", "session_epoch"])
    user.refresh_from_db(fields=["session_epoch"])
    if role not in (Role.SECRETAIRE, Role.FACTURATION):
        user.assists.clear()
    details: dict[str, Any] = {"from": old, "to": role}
    if request:
        details["request"] = request
    journal.record(Ev.USER_ROLE_CHANGED, actor=actor, target=user, details=details)
    _end_replacements(actor=actor, user=user)


def _end_replacements(*, actor: Any, user: User) -> None:
    now = timezone.now()
    for replacement in Replacement.objects.filter(remplacant=user, ends_at__gt=now, ended_early_at__isnull=True):
        replacement.ended_early_at = now
        replacement.save(update_fields=["ended_early_at"])
        journal.record(
            Ev.REPLACEMENT_ENDED, actor=actor, target=user, details={"titulaire": replacement.titulaire_id}
        )


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
    """End of contract: the account can no longer sign in and every session ends at once; its
    replacements end too."""
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
    _end_replacements(actor=actor, user=user)


@transaction.atomic
def reactivate(*, actor: Any, user: User) -> GrantRequest | None:
    """Let an account sign in again. One that would reach a titulaire's patients (a titulaire's
    own account) comes back only once approved (hygie.approvals)."""
    if user.is_active:
        return None
    reached = records.titulaires_reached_by(user)
    if reached:
        return approvals.request_grant(kind=Kind.REACTIVATION, actor=actor, account=user, titulaires=reached)
    apply_reactivation(actor=actor, user=user)
    return None


def apply_reactivation(*, actor: Any, user: User, request: str = "") -> None:
    User.objects.filter(pk=user.pk).update(is_active=True, deactivated_at=None)
    user.refresh_from_db()
    journal.record(Ev.USER_REACTIVATED, actor=actor, target=user, details={"request": request} if request else None)


@transaction.atomic
def logout_everywhere(*, actor: Any, user: User) -> None:
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    journal.record(Ev.LOGOUT_EVERYWHERE, actor=actor, target=user)


@transaction.atomic
def reset_second_factor(*, actor: Any, user: User) -> GrantRequest | None:
    """An administrator removes every second factor of a user who lost theirs.

    The user must enrol a new one at next login; their sessions end now. For an account that
    reaches a titulaire's patients this is only a request until approved (hygie.approvals).
    """
    if user.pk == getattr(actor, "pk", None):
        raise ActionError("Utilisez « Mon compte » pour gérer vos propres facteurs.")
    reached = records.titulaires_reached_by(user)
    if reached:
        return approvals.request_grant(kind=Kind.MFA, actor=actor, account=user, titulaires=reached)
    apply_second_factor_reset(actor=actor, user=user)
    return None


def apply_second_factor_reset(*, actor: Any, user: User, request: str = "") -> None:
    removed = Authenticator.objects.filter(user=user).delete()[0]
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    details: dict[str, Any] = {"removed": removed}
    if request:
        details["request"] = request
    journal.record(Ev.MFA_RESET, actor=actor, target=user, details=details)


@transaction.atomic
def set_password_by_admin(*, actor: Any, user: User, password: str) -> GrantRequest | None:
    """A password set by someone else must be changed by its owner at first login. For an
    account that reaches a titulaire's patients this is only a request until approved; the
    request keeps the password's hash, never the password."""
    if user.pk == getattr(actor, "pk", None):
        raise ActionError("Utilisez « Mon compte » pour changer votre propre mot de passe.")
    validate_password(password, user)
    encoded = make_password(password)
    reached = records.titulaires_reached_by(user)
    if reached:
        return approvals.request_grant(
            kind=Kind.PASSWORD, actor=actor, account=user, titulaires=reached, payload={"password": encoded}
        )
    apply_password(actor=actor, user=user, encoded=encoded)
    return None


def apply_password(*, actor: Any, user: User, encoded: str, request: str = "") -> None:
    user.password = encoded
    user.must_change_password = True
    user.session_epoch = F("session_epoch") + 1
    user.save(update_fields=["password", "must_change_password", "session_epoch"])
    user.refresh_from_db(fields=["session_epoch"])
    journal.record(
        Ev.PASSWORD_SET_BY_ADMIN, actor=actor, target=user, details={"request": request} if request else None
    )


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
) -> GrantRequest:
    """Ask the titulaire to approve a replacement: it exists only once approved
    (hygie.approvals applies it with `apply_replacement`)."""
    _check_replacement(remplacant, titulaire, starts_at, ends_at)
    if ends_at <= timezone.now():
        raise ActionError("Ce remplacement est déjà terminé.")
    return approvals.request_grant(
        kind=Kind.REPLACEMENT,
        actor=actor,
        account=remplacant,
        titulaires=[titulaire.pk],
        payload={"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()},
    )


def _check_replacement(remplacant: User, titulaire: User, starts_at: datetime, ends_at: datetime) -> None:
    if remplacant.role != Role.REMPLACANT:
        raise ActionError("Ce compte n'a pas le rôle remplaçant.")
    if not remplacant.is_active:
        raise ActionError("Ce compte est désactivé.")
    if titulaire.role != Role.TITULAIRE or not titulaire.is_active:
        raise ActionError("On ne remplace qu'un praticien titulaire actif.")
    if ends_at <= starts_at:
        raise ActionError("La fin du remplacement doit suivre son début.")


@transaction.atomic
def apply_replacement(
    *, actor: Any, remplacant: User, titulaire: User, starts_at: datetime, ends_at: datetime, request: str = ""
) -> Replacement:
    """The replacement itself, once approved (or for the demonstration practice only)."""
    _check_replacement(remplacant, titulaire, starts_at, ends_at)
    replacement = Replacement.objects.create(
        remplacant=remplacant, titulaire=titulaire, starts_at=starts_at, ends_at=ends_at
    )
    details = {"titulaire": titulaire.pk, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()}
    if request:
        details["request"] = request
    journal.record(Ev.REPLACEMENT_CREATED, actor=actor, target=remplacant, details=details)
    return replacement
