"""Sealing journal events into the hash chain, and reading them back in canonical form.

Why events are sealed in two steps. `journal.record` inserts the event in the caller's
transaction (an action that rolls back leaves no event). Giving it a gapless position and a chain
value means taking the single chain head, and holding it until the transaction ends, or a
rollback would leave a gap. On SQLite writers are serialised by the database anyway
(transaction_mode IMMEDIATE), so the event is sealed right away, in the same transaction, at no
extra cost. On PostgreSQL, holding the head until commit would queue every request behind the
previous one's disk flush (measured on the development machine: ~1,000 events/s with 8 writers
against ~5,000 without); there the event is sealed just after its commit, by a short
transaction that seals every pending event at once, so concurrent writers share one flush.

Seal and verify read events with the same query (`select_sql`) and the same canonical form
(hygie.lib.hashchain), so the bytes hashed when sealing are exactly the bytes re-hashed when
verifying, whatever the database returns.
"""

from __future__ import annotations

import logging

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from hygie.audit.models import ChainHead, Event
from hygie.lib import hashchain

logger = logging.getLogger(__name__)

# Columns of audit_event that enter the canonical form, in the order `_payload` expects.
CONTENT_COLUMNS = (
    "at",
    "actor_id",
    "actor_role",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "patient_id",
    "ip",
    "request_id",
    "channel",
    "reason",
    "details",
)
SEAL_BATCH = 5000


class JournalBroken(Exception):
    """The chain cannot be extended safely (its head row is gone while sealed events remain)."""


def table() -> str:
    return Event._meta.db_table


# The time is asked for as text, so that Python builds no datetime per row (PostgreSQL formats
# it canonically itself). JSON and IP addresses already arrive as text on both databases.
_SELECT = {
    "postgresql": {"at": """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""},
    "sqlite": {"at": "CAST(at AS TEXT)"},
}


def select_sql(vendor: str, leading: str, where: str, order: str, limit: int | None = None) -> str:
    exprs = _SELECT.get(vendor, {})
    cols = ", ".join(exprs.get(c, c) for c in CONTENT_COLUMNS)
    sql = f"SELECT {leading}, {cols} FROM {table()} WHERE {where} ORDER BY {order}"  # noqa: S608 (constants)
    return sql + (f" LIMIT {int(limit)}" if limit else "")


def payload(seq: int, row: tuple, details: hashchain.DetailsCanon) -> bytes:
    return hashchain.event_payload(seq, row, details)


def after_append(using: str = DEFAULT_DB_ALIAS) -> None:
    """Called by journal.record once the event row is inserted (see the module docstring)."""
    if connections[using].vendor == "sqlite":
        # Inside the writer's transaction, no savepoint: if sealing fails, the action fails.
        if _seal_batch(using, SEAL_BATCH, savepoint=False) == SEAL_BATCH:
            seal(using)  # a backlog, e.g. events written before the chain existed
    else:
        transaction.on_commit(lambda: seal(using, wait=False), using=using, robust=True)


# Key of the PostgreSQL advisory lock that stands for the chain head ("Hygie" in ASCII).
_HEAD_LOCK = 0x4879676965


def lock_head(using: str) -> ChainHead:
    """Take the chain head for the rest of the current transaction and return it.

    On PostgreSQL this is an advisory lock rather than SELECT … FOR UPDATE on the head row: a
    row lock is written to the WAL, so every sealer, even one that finds nothing left to seal
    because a neighbour sealed its event, would wait for a disk flush at commit, one after the
    other (measured with 8 writers: ~150 events/s with FOR UPDATE). An advisory lock lives in
    memory; only a sealer that actually seals writes, and it seals for everyone waiting.
    """
    conn = connections[using]
    if conn.vendor == "postgresql":
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_HEAD_LOCK])
        head = ChainHead.objects.using(using).filter(pk=1).first()
    else:
        # SQLite: the IMMEDIATE transaction already holds the database's single write lock.
        head = ChainHead.objects.using(using).select_for_update().filter(pk=1).first()
    if head is not None:
        return head
    # A fresh database (or one flushed by tests): start the chain, unless sealed events exist,
    # in which case the head was deleted and restarting would hide it.
    if Event.objects.using(using).filter(seq__isnull=False).exists():
        raise JournalBroken("La tête du journal a disparu alors que des événements sont scellés.")
    return ChainHead.objects.using(using).create(pk=1)


def seal(using: str = DEFAULT_DB_ALIAS, *, wait: bool = True, batch: int = SEAL_BATCH) -> int:
    """Give every pending event, in id order, the next position and chain value. Returns how
    many were sealed. Safe to call from any number of threads and processes at once."""
    if not wait and connections[using].vendor == "postgresql":
        return _seal_if_free(using, batch)
    total = 0
    pending = Event.objects.using(using).filter(seq__isnull=True)
    while pending.exists():
        total += _seal_batch(using, batch)
    return total


def _seal_if_free(using: str, batch: int) -> int:
    """After each commit on PostgreSQL: seal, unless another writer is sealing already.

    A writer that finds the head taken leaves at once (one query): whoever holds it looks for
    pending events again after releasing it, and every event was committed before its writer
    tried the lock, so none is left behind. One sealer thus seals for all concurrent writers,
    with one disk flush per batch instead of one per event. The holder stops after a few rounds
    to bound the extra work of one request under sustained load; what is left is sealed by the
    next writer or the periodic checkpoint. A session lock (not a transaction one) so that the
    failed attempt needs no transaction.
    """
    total = 0
    pending = Event.objects.using(using).filter(seq__isnull=True)
    with connections[using].cursor() as cursor:
        for _round in range(20):
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_HEAD_LOCK])
            if not cursor.fetchone()[0]:
                break
            try:
                total += _seal_batch(using, batch)
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_HEAD_LOCK])
            if not pending.exists():
                break
    return total


def _seal_batch(using: str, batch: int, *, savepoint: bool = True) -> int:
    """Seal up to `batch` pending events in one transaction. Raw SQL, no models: on SQLite this
    runs inside every writer's transaction, which holds the database's write lock meanwhile."""
    conn = connections[using]
    head_table = ChainHead._meta.db_table
    with transaction.atomic(using=using, savepoint=savepoint), conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            # Re-entrant: a session already holding the lock (see _seal_if_free) gets it again.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_HEAD_LOCK])
        cursor.execute(f"SELECT seq, chain_hash FROM {head_table} WHERE id = 1")  # noqa: S608
        current = cursor.fetchone()
        if current is None:
            head = lock_head(using)
            current = (head.seq, head.chain_hash)
        cursor.execute(select_sql(conn.vendor, "id, seq", "seq IS NULL", "id", batch))
        rows = cursor.fetchall()
        if not rows:
            return 0
        details = hashchain.DetailsCanon()
        seq, previous_hex = current
        previous = bytes.fromhex(previous_hex)
        updates = []
        for row in rows:
            seq += 1
            previous = hashchain.next_hash(previous, payload(seq, row[2:], details))
            updates.append((seq, previous.hex(), row[0]))
        cursor.executemany(f"UPDATE {table()} SET seq = %s, chain_hash = %s WHERE id = %s", updates)  # noqa: S608
        cursor.execute(
            f"UPDATE {head_table} SET seq = %s, chain_hash = %s WHERE id = 1",  # noqa: S608
            [seq, previous.hex()],
        )
    return len(rows)
