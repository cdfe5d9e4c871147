"""Rolling retention: pruning cuts at a checkpoint and verification restarts from it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from hygie.audit import chain, checkpoint
from hygie.audit.events import Ev
from hygie.audit.models import ChainHead, Checkpoint, Event
from hygie.audit.prune import prune
from hygie.audit.verify import verify
from tests.audit import helpers

pytestmark = pytest.mark.django_db

A_YEAR_AND_A_BIT = timedelta(days=400)


def _old_journal() -> None:
    """30 events checkpointed 400 days ago, then 10 recent ones checkpointed now."""
    then = timezone.now() - A_YEAR_AND_A_BIT
    helpers.record_many(20)
    checkpoint.make_checkpoint(now=then)
    helpers.record_many(10)
    checkpoint.make_checkpoint(now=then + timedelta(minutes=5))
    helpers.record_many(10)
    checkpoint.make_checkpoint()


def test_it_prunes_up_to_the_newest_checkpoint_older_than_the_window():
    _old_journal()

    result = prune()

    assert (result.deleted, result.anchor_seq) == (30, 30)
    assert ChainHead.objects.get().anchor_seq == 30
    assert Event.objects.filter(seq__lte=30).count() == 0
    assert list(Checkpoint.objects.values_list("seq", flat=True)) == [30, 40]
    pruned = Event.objects.get(action=Ev.JOURNAL_PRUNED)
    assert pruned.details == {"anchor": 30, "deleted": 30, "retention_days": 365}


def test_it_still_verifies_after_pruning():
    _old_journal()
    prune()
    chain.seal()  # the pruning event, on PostgreSQL sealed after a commit the test never reaches

    report = verify()

    assert report.ok, report.summary()
    assert report.events == 11  # 10 recent + the pruning event itself
    assert report.checkpoints == 2


def test_it_still_catches_tampering_after_pruning():
    _old_journal()
    prune()
    helpers.edit(31)

    report = verify()

    assert (report.ok, report.position) == (False, 31)


def test_it_keeps_everything_inside_the_window():
    helpers.record_many(5)
    checkpoint.make_checkpoint()

    assert prune().deleted == 0
    assert Event.objects.count() == 5


def test_it_honours_a_longer_configured_window(settings):
    settings.JOURNAL_RETENTION_DAYS = 3 * 365
    _old_journal()

    assert prune().deleted == 0


@pytest.mark.parametrize("days", [30, 182, 1097])
def test_it_refuses_a_window_outside_the_legal_bounds(days):
    # The bounds live in settings.py: Hygie does not even start with such a window.
    env = {**os.environ, "HYGIE_JOURNAL_RETENTION_DAYS": str(days)}
    result = subprocess.run(
        [sys.executable, "-c", "import hygie.settings"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "HYGIE_JOURNAL_RETENTION_DAYS doit être" in result.stderr


def test_it_catches_recent_events_deleted_as_if_pruned():
    # Someone deletes the start of the journal and moves the anchor to a recent checkpoint.
    helpers.journal_with_checkpoints(20, every=10)
    Event.objects.filter(seq__lte=10).delete()
    ChainHead.objects.update(anchor_seq=10)

    report = verify()

    assert (report.ok, report.position) == (False, 11)
    assert "durée de conservation" in report.summary()


def test_it_catches_an_anchor_without_a_signed_checkpoint():
    helpers.journal_with_checkpoints(20, every=10)
    Event.objects.filter(seq__lte=7).delete()
    ChainHead.objects.update(anchor_seq=7)

    report = verify()

    assert (report.ok, report.position) == (False, 8)
