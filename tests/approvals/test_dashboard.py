"""The dashboard's approval panels: what each list shows to the titulaire and to the referent
(the lists are read only when their flag, read with the dashboard's other values, says they
have something; their SQL is compiled once per process, checked against the ORM's in the
suite by HYGIE_FROZEN_CHECK)."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone

from hygie.access.policy import Role
from hygie.accounts import actions as accounts
from hygie.approvals import actions
from hygie.approvals.models import GrantRequest, Status
from tests.approvals.helpers import signed_in
from tests.factories import make_user


def _card(page: str, card_id: str) -> str:
    found = re.search(rf'<div class="card[^"]*" id="{card_id}">(.*?)</div>', page, re.S)
    return found.group(1) if found else ""


def test_each_panel_shows_its_own_requests(personas):
    now = timezone.now()
    pending = accounts.create_replacement(
        actor=personas.adam, remplacant=make_user("loic", Role.REMPLACANT), titulaire=personas.alice,
        starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=3),
    )
    applied = accounts.create_replacement(
        actor=personas.adam, remplacant=make_user("lea", Role.REMPLACANT), titulaire=personas.alice,
        starts_at=now, ends_at=now + timedelta(days=1),
    )
    actions.approve(actor=personas.alice, req=applied)
    assert GrantRequest.objects.get(pk=pending.pk).status == Status.PENDING

    alice = signed_in(personas.alice).get("/").content.decode()
    waiting = _card(alice, "grants-pending")
    assert str(pending.public_id) in waiting
    assert str(applied.public_id) not in waiting
    in_force = _card(alice, "grants-in-force")
    assert "Remplacement par" in in_force and "Aucun remplacement" not in in_force
    assert "grants-while-away" not in alice  # nothing decided by the referent

    regine = signed_in(personas.regine).get("/").content.decode()
    assert str(pending.public_id) in _card(regine, "grants-pending")
    assert "grants-in-force" not in regine  # the referent has no patients of her own

    bob = signed_in(personas.bob).get("/").content.decode()
    assert "grants-pending" not in bob
    assert "Aucun remplacement en cours ou à venir." in _card(bob, "grants-in-force")
