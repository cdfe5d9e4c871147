"""Creating the practice. Like every action, it writes its journal events in its transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from hygie.access.policy import Role
from hygie.accounts.actions import ActionError, create_user
from hygie.accounts.models import User
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.practices.models import Practice

# Commands run for no web user: the journal says so instead of naming an account.
CLI_ROLE = "cli"


@transaction.atomic
def create_practice(
    *,
    name: str,
    admin_username: str,
    admin_password: str,
    admin_first_name: str = "",
    admin_last_name: str = "",
    admin_email: str = "",
    is_demo: bool = False,
    actor: Any = None,
) -> tuple[Practice, User]:
    """The practice of this installation and its first administrator.

    The owner typed the password themself: no change is forced at first login.
    """
    name = name.strip()
    if not name:
        raise ActionError("Le nom du cabinet est obligatoire.")
    if Practice.objects.exists():
        raise ActionError("Un cabinet existe déjà dans ce répertoire de données.")
    practice = Practice.objects.create(name=name, is_demo=is_demo)
    journal.record(
        Ev.PRACTICE_CREATED,
        actor=actor,
        target=practice,
        details={"is_demo": is_demo},
        actor_role=None if actor else CLI_ROLE,
    )
    admin = create_user(
        actor=actor,
        username=admin_username,
        role=Role.ADMIN,
        password=admin_password,
        first_name=admin_first_name,
        last_name=admin_last_name,
        email=admin_email,
        must_change_password=False,
    )
    return practice, admin
