"""`hygie audit verify | checkpoint | prune` from the command line."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from hygie.audit import checkpoint
from hygie.audit.models import Checkpoint
from tests.audit import helpers

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("audit", *args, stdout=out)
    return out.getvalue()


def test_it_says_the_journal_is_intact():
    helpers.journal_with_checkpoints(12, every=6)

    assert "Journal intègre : 12 événements, 2 points de contrôle." in _run("verify")


def test_it_exits_non_zero_naming_the_first_bad_position():
    helpers.journal_with_checkpoints(12, every=6)
    helpers.delete(4)

    with pytest.raises(CommandError) as exc:
        _run("verify")

    assert exc.value.returncode == 1
    assert str(exc.value).startswith("Journal altéré à la position 4 : ")


def test_it_makes_a_checkpoint_on_demand_in_the_database_and_the_file(checkpoint_file):
    helpers.record_many(3)

    out = _run("checkpoint")

    assert "Point de contrôle signé à la position 3" in out
    assert Checkpoint.objects.get().seq == 3
    assert checkpoint.read_file(checkpoint_file)[0].seq == 3
    assert checkpoint_file.stat().st_mode & 0o777 == 0o600


def test_it_has_nothing_to_sign_twice():
    helpers.record_many(3)
    _run("checkpoint")

    assert "Rien de nouveau à signer" in _run("checkpoint")


def test_it_makes_a_periodic_checkpoint_only_when_the_interval_has_passed():
    helpers.record_many(2)
    now = timezone.now()
    assert checkpoint.maybe_checkpoint(now) is not None
    helpers.record_many(2)

    assert checkpoint.maybe_checkpoint(now + timedelta(minutes=4)) is None
    assert checkpoint.maybe_checkpoint(now + timedelta(minutes=5)).seq == 4


def test_it_refuses_to_prune_an_altered_journal():
    helpers.journal_with_checkpoints(12, every=6)
    helpers.edit(2)

    with pytest.raises(CommandError, match="Purge refusée"):
        _run("prune")


def test_it_prunes_nothing_inside_the_window():
    helpers.journal_with_checkpoints(4, every=4)

    assert "Rien à purger" in _run("prune")
