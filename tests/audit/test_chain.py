"""Recording events seals them into the chain, in the same transaction as the action."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from hygie.audit import chain, journal
from hygie.audit.events import Ev
from hygie.audit.models import ChainHead, Event
from hygie.audit.verify import verify
from hygie.lib import hashchain
from tests.audit.helpers import record_many

pytestmark = pytest.mark.django_db


def test_it_gives_every_event_a_gapless_position_and_chain_value():
    record_many(12)

    rows = list(Event.objects.order_by("seq").values_list("seq", "chain_hash"))
    assert [s for s, _ in rows] == list(range(1, 13))
    assert all(len(h) == 64 for _, h in rows)
    head = ChainHead.objects.get()
    assert (head.seq, head.chain_hash) == rows[-1]


def test_it_verifies_a_fresh_journal():
    record_many(30)

    report = verify()

    assert report.ok, report.summary()
    assert report.events == 30
    assert report.summary() == "Journal intègre : 30 événements, 0 points de contrôle."


def test_it_verifies_an_empty_journal():
    assert verify().ok


def test_it_leaves_no_event_and_no_gap_when_the_action_fails():
    record_many(3)

    with pytest.raises(RuntimeError), transaction.atomic():
        journal.record(Ev.PATIENT_UPDATED, patient_id=1)
        raise RuntimeError("the action failed")
    chain.seal()
    record_many(1)

    assert list(Event.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3, 4]
    assert verify().ok


def test_it_hashes_what_the_database_returns_for_every_kind_of_field(personas):
    journal.record(
        Ev.BREAK_GLASS,
        actor=personas.alice,
        target=personas.bob_patient,
        reason="Urgence : patient inconscient, « accès » nécessaire",
        details={"z": [1, 2, {"b": None, "a": True}], "é": "ü", "n": -3},
    )
    chain.seal()

    event = Event.objects.get()
    assert event.seq == 1 and event.actor_id == personas.alice.pk and event.patient_id == personas.bob_patient.pk
    assert verify().ok


def test_it_seals_events_left_pending_in_id_order():
    # Events written before the chain existed (or whose post-commit seal never ran).
    for i in range(5):
        Event.objects.create(at=timezone.now(), action="agenda:viewed", details={"i": i})

    assert chain.seal() == 5

    assert list(Event.objects.order_by("seq").values_list("details", flat=True)) == [{"i": i} for i in range(5)]
    assert verify().ok


def test_it_reports_pending_events_without_failing():
    Event.objects.create(at=timezone.now(), action="agenda:viewed")

    report = verify()

    assert report.ok
    assert report.pending == 1
    assert "pas encore chaînés" in report.notes[0]


def test_it_refuses_to_restart_a_chain_whose_head_was_deleted():
    record_many(2)
    ChainHead.objects.all().delete()
    Event.objects.create(at=timezone.now(), action="agenda:viewed")

    with pytest.raises(chain.JournalBroken):
        chain.seal()
    report = verify()
    assert not report.ok and report.position == 1


def test_it_uses_rfc6962_domain_separation():
    payload = b"{}"
    leaf = hashchain.leaf_hash(payload)
    assert hashchain.next_hash(hashchain.GENESIS, payload) == hashchain.chain_hash(hashchain.GENESIS, leaf)
