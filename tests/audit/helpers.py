"""Build journals and tamper with them the way someone with write access to the database would."""

from __future__ import annotations

import secrets

from django.db import connection
from django.utils import timezone

from hygie.audit import chain, checkpoint, journal
from hygie.audit.events import Ev
from hygie.audit.models import ChainHead, Event
from hygie.lib import hashchain

ACTIONS = [Ev.PATIENT_VIEWED, Ev.PATIENT_UPDATED, Ev.LOGIN_FAILED, Ev.DOCUMENT_DOWNLOADED, Ev.AGENDA_VIEWED]


def record_many(n: int, **fields) -> None:
    for i in range(n):
        journal.record(ACTIONS[i % len(ACTIONS)], patient_id=i, details={"i": i}, **fields)
    # On PostgreSQL sealing follows the commit, which the test transaction never reaches.
    chain.seal()


def journal_with_checkpoints(events: int, every: int) -> list[int]:
    """`events` events with a checkpoint after each `every`; returns the checkpoint positions."""
    done, positions = 0, []
    while done < events:
        step = min(every, events - done)
        record_many(step)
        done += step
        checkpoint.make_checkpoint()
        positions.append(done)
    return positions


def edit(seq: int, **changes) -> None:
    Event.objects.filter(seq=seq).update(**(changes or {"reason": "falsifié"}))


def delete(seq: int) -> None:
    Event.objects.filter(seq=seq).delete()


def insert_at(seq: int, *, valid_hash: bool = False) -> None:
    """A forged event at `seq`, later events shifted by one, as if it had always been there."""
    last = Event.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    for s in range(last, seq - 1, -1):  # from the end: the unique index never sees two equal
        Event.objects.filter(seq=s).update(seq=s + 1)
    forged = Event.objects.create(at=timezone.now(), action=str(Ev.PATIENT_VIEWED), patient_id=999, seq=seq)
    stored = secrets.token_hex(32)
    if valid_hash:
        previous = Event.objects.filter(seq=seq - 1).values_list("chain_hash", flat=True).first()
        payload = _payload_of(forged.pk, seq)
        stored = hashchain.next_hash(bytes.fromhex(previous or hashchain.GENESIS.hex()), payload).hex()
    Event.objects.filter(pk=forged.pk).update(chain_hash=stored)


def swap(a: int, b: int) -> None:
    """Exchange the content of two events, keeping their positions and stored hashes."""
    fields = [f.attname for f in Event._meta.concrete_fields if f.attname not in {"id", "seq", "chain_hash"}]
    row_a = Event.objects.filter(seq=a).values(*fields).get()
    row_b = Event.objects.filter(seq=b).values(*fields).get()
    Event.objects.filter(seq=a).update(**row_b)
    Event.objects.filter(seq=b).update(**row_a)


def truncate_after(seq: int, *, fix_head: bool = True) -> None:
    """Cut every event after `seq`; a careful attacker also rewinds the chain head."""
    Event.objects.filter(seq__gt=seq).delete()
    if fix_head:
        last = Event.objects.filter(seq=seq).values_list("chain_hash", flat=True).first() or hashchain.GENESIS.hex()
        ChainHead.objects.filter(pk=1).update(seq=seq, chain_hash=last)


def rehash_from(seq: int) -> None:
    """Recompute every stored hash from `seq` on, and the head: what anyone can do without the
    signing key. Only signed checkpoints can catch this."""
    previous = Event.objects.filter(seq=seq - 1).values_list("chain_hash", flat=True).first()
    previous_b = bytes.fromhex(previous) if previous else hashchain.GENESIS
    last = seq - 1
    for pk, s in Event.objects.filter(seq__gte=seq).order_by("seq").values_list("pk", "seq"):
        previous_b = hashchain.next_hash(previous_b, _payload_of(pk, s))
        Event.objects.filter(pk=pk).update(chain_hash=previous_b.hex())
        last = s
    ChainHead.objects.filter(pk=1).update(seq=last, chain_hash=previous_b.hex())


def _payload_of(pk: int, seq: int) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(chain.select_sql(connection.vendor, "seq, chain_hash", "id = %s", "id"), [pk])
        row = cursor.fetchone()
    return chain.payload(seq, row[2:], hashchain.DetailsCanon())


def record_at(when, action, **fields):
    """An event written at `when`, as if the clock said so (the chain stays valid)."""
    from unittest import mock

    with mock.patch("hygie.audit.journal.timezone.now", return_value=when):
        return journal.record(action, with_id=True, **fields)
