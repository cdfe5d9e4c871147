"""Sealing journal events into the hash chain, and reading them back in canonical form.

Why events are sealed in two steps. `journal.record` inserts the event in the caller's
transaction (an action that rolls back leaves no event). Giving it a gapless position and a chain
value means taking the single chain head, and holding it until the transaction ends, or a
rollback would leave a gap. On SQLite writers are serialised by the database anyway
(transaction_mode IMMEDIATE), so the event is sealed right away, in the same transaction, at no
extra cost. On PostgreSQL, holding the head until commit would queue every request behind the
previous one's disk flush (measured on the development machine: ~1,000 events/s with 8 writers
against ~5,000 without); there the event is sealed just after its commit, by a short
transaction that seals every pending event at once, so concurrent writers share one flush. In
`hygie serve` that sealing is done by one thread for the whole database, in one of the server
processes, rather than by the request (hygie.audit.sealer): the response waits neither for it
nor for the other writers' events.

Seal and verify read events with the same query (`select_sql`) and the same canonical form
(hygie.lib.hashchain), so the bytes hashed when sealing are exactly the bytes re-hashed when
verifying, whatever the database returns.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, NamedTuple

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from hygie.audit import sealer
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


class EventFields(NamedTuple):
    """The content of one event except its time, as journal.record hands it over (the ORM's
    Python values; the time is taken inside the transaction)."""

    actor_id: int | None
    actor_role: str
    action: str
    outcome: str
    target_type: str
    target_id: str
    patient_id: int | None
    ip: str | None
    request_id: str
    channel: str
    reason: str
    details: dict[str, Any]


class Prepared(NamedTuple):
    # CONTENT_COLUMNS[1:] as the database receives them (details as the ORM's JSON text or Jsonb).
    values: tuple
    # Canonical JSON of `details`, from the very text stored (SQLite only, else "").
    details_canon: str
    # The canonical form but for the time and the position (SQLite only, else None): formatted
    # before the transaction, so that only those two are under the write lock (payload and hash
    # under the lock: ~1.8 µs instead of ~3.0).
    parts: hashchain.PayloadParts | None = None


# Canonical `details` memoised on the stored JSON text, shared by every append of the process.
_details = hashchain.DetailsCanon()


def prepare(conn: Any, fields: EventFields) -> Prepared:
    """Adapt the values for the database the way the ORM does, before the transaction starts.
    On SQLite, the canonical form of `details` is taken from the exact JSON text that will be
    stored, like `_seal_batch` and `verify` do when they read it back."""
    ops = conn.ops
    details_db = ops.adapt_json_value(fields.details, None)
    values = (
        fields.actor_id, fields.actor_role, fields.action, fields.outcome, fields.target_type, fields.target_id,
        fields.patient_id, ops.adapt_ipaddressfield_value(fields.ip), fields.request_id, fields.channel,
        fields.reason, details_db,
    )
    if conn.vendor != "sqlite":
        return Prepared(values, "")
    details_canon = _details(details_db)
    parts = hashchain.canonical_parts(
        actor=values[0], actor_role=values[1], action=values[2], outcome=values[3], target_type=values[4],
        target_id=values[5], patient=values[6], ip=values[7], request_id=values[8], channel=values[9],
        reason=values[10], details=details_canon,
    )
    return Prepared(values, details_canon, parts)



_COLUMNS = ", ".join(CONTENT_COLUMNS)
# Pending events are inserted with seq NULL and chain_hash "" (what the ORM wrote).
_INSERT = (
    f"INSERT INTO {Event._meta.db_table} ({_COLUMNS}, seq, chain_hash) "  # noqa: S608 (constants)
    f"VALUES ({', '.join(['%s'] * (len(CONTENT_COLUMNS) + 2))})"
)
# The head and, in the same statement, whether any event still waits for its seal.
_HEAD_AND_PENDING = (
    f"SELECT seq, chain_hash, EXISTS (SELECT 1 FROM {Event._meta.db_table} WHERE seq IS NULL) "  # noqa: S608
    f"FROM {ChainHead._meta.db_table} WHERE id = 1"
)
_SET_HEAD = f"UPDATE {ChainHead._meta.db_table} SET seq = %s, chain_hash = %s WHERE id = 1"  # noqa: S608
# A pending event: seq NULL and chain_hash "" written as constants, two parameters fewer for the
# driver to adapt (PostgreSQL's client-side binding quotes each one in Python).
_INSERT_PENDING = (
    f"INSERT INTO {Event._meta.db_table} ({_COLUMNS}, seq, chain_hash) "  # noqa: S608 (constants)
    f"VALUES ({', '.join(['%s'] * len(CONTENT_COLUMNS))}, NULL, '')"
)
# The same three statements for the sqlite3 driver's cursor (its own "?" placeholders).
_QMARK = (_HEAD_AND_PENDING, _INSERT.replace("%s", "?"), _SET_HEAD.replace("%s", "?"))
_PENDING_EXISTS = f"SELECT EXISTS (SELECT 1 FROM {Event._meta.db_table} WHERE seq IS NULL)"  # noqa: S608


def append(using: str, at: Any, prepared: Prepared, *, with_id: bool = True) -> tuple[int | None, int | None, str]:
    """Insert one event inside the caller's transaction; returns (id, seq, chain hash), the last
    two None and "" when the event is sealed later (PostgreSQL, or a backlog on SQLite), the id
    None on PostgreSQL unless `with_id` (no RETURNING: ~17 µs of the client, ~8 of the server).

    SQLite, usual case: the IMMEDIATE transaction holds the write lock from its BEGIN, so the head
    read here cannot move before the commit. The position and chain value are computed first and
    the event is inserted already sealed: three statements (head, INSERT, head UPDATE), where
    inserting then sealing took five. The payload is built from the stored texts exactly as
    `_seal_batch` builds it from the row it reads back, so the hash is the same either way.
    When the head is missing, events are pending (written before the chain existed, or by other
    means) or the transaction is not IMMEDIATE, the event is inserted plain and sealed by
    `after_append`, as before, so that positions keep following ids.
    """
    conn = connections[using]
    at_db = conn.ops.adapt_datetimefield_value(at)
    # BEGIN IMMEDIATE done (by atomic): this connection holds the write lock.
    if conn.vendor == "sqlite" and conn.transaction_mode == "IMMEDIATE" and conn.connection.in_transaction:
        if conn.queries_logged or conn.execute_wrappers:
            with conn.cursor() as cursor:
                sealed = _append_sqlite(cursor, at_db, prepared, _HEAD_AND_PENDING, _INSERT, _SET_HEAD)
        else:
            # Nothing observes the statements (no query log, no wrapper): the driver's own
            # cursor, with its own placeholders, spares Django's per-statement work (~20 µs
            # each) while the database's only write lock is held. Same statements. No Django
            # cursor is made at all (~4 µs, under the lock too).
            conn.validate_no_broken_transaction()
            with conn.wrap_database_errors, contextlib.closing(conn.connection.cursor()) as driver:
                sealed = _append_sqlite(driver, at_db, prepared, *_QMARK)
        if sealed is not None:
            return sealed
    with conn.cursor() as cursor:
        if conn.vendor == "sqlite":
            cursor.execute(_INSERT_PENDING, [at_db, *prepared.values])
            pk = cursor.lastrowid
        elif with_id:
            cursor.execute(_INSERT_PENDING + " RETURNING id", [at_db, *prepared.values])
            pk = cursor.fetchone()[0]
        else:
            cursor.execute(_INSERT_PENDING, [at_db, *prepared.values])
            pk = None
    after_append(using)
    return pk, None, ""


def _append_sqlite(cursor: Any, at_db: Any, prepared: Prepared, head_sql: str, insert_sql: str,
                   set_head_sql: str) -> tuple[int, int, str] | None:
    """SQLite, the write lock held: insert the event already sealed; None (nothing written) when
    the head is missing or events wait for their seal."""
    cursor.execute(head_sql)
    head = cursor.fetchone()
    if head is None or head[2]:
        return None
    seq = head[0] + 1
    parts = prepared.parts
    if parts is None:  # prepared for another database
        data = payload(seq, (at_db, *prepared.values), _details)
    else:
        data = hashchain.payload_of(parts, seq, hashchain.time_from_db(at_db))
    digest = hashchain.next_hash(bytes.fromhex(head[1]), data).hex()
    cursor.execute(insert_sql, [at_db, *prepared.values, seq, digest])
    pk = cursor.lastrowid
    cursor.execute(set_head_sql, [seq, digest])
    return pk, seq, digest


def after_append(using: str = DEFAULT_DB_ALIAS) -> None:
    """Called by journal.record once the event row is inserted (see the module docstring)."""
    if connections[using].vendor == "sqlite":
        # Inside the writer's transaction, no savepoint: if sealing fails, the action fails.
        if _seal_batch(using, SEAL_BATCH, savepoint=False) == SEAL_BATCH:
            seal(using)  # a backlog, e.g. events written before the chain existed
    else:
        # Right after the commit: in the request (commands, worker, tests), or by the server
        # process's sealer thread (hygie serve: hygie.audit.sealer).
        transaction.on_commit(lambda: sealer.nudge(using), using=using, robust=True)


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
    with connections[using].cursor() as cursor:
        for _round in range(20):
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_HEAD_LOCK])
            if not cursor.fetchone()[0]:
                break
            try:
                total += _seal_batch(using, batch, locked=True)
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_HEAD_LOCK])
            # A statement of its own, after the unlock: its snapshot must include every event
            # whose writer found the lock taken.
            cursor.execute(_PENDING_EXISTS)
            if not cursor.fetchone()[0]:
                break
    return total


def pending(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether any event waits for its seal (one indexed lookup)."""
    with connections[using].cursor() as cursor:
        cursor.execute(_PENDING_EXISTS)
        return bool(cursor.fetchone()[0])


def seal_round(using: str = DEFAULT_DB_ALIAS, batch: int = SEAL_BATCH) -> bool:
    """One round of `_seal_if_free`, for the sealer thread of `hygie serve` (hygie.audit.sealer):
    seal if the head is free, then say whether to come back. True when the head was taken or
    events are still pending after the unlock (looked for by a statement of its own, as in
    `_seal_if_free`): the thread then comes back after its coalescing wait instead of at once, so
    that under load each round seals the commits of that wait in one batch rather than the few of
    the last round trips (the back-to-back rounds of `_seal_if_free` cost a flush each)."""
    if connections[using].vendor != "postgresql":
        seal(using)
        return False
    conn = connections[using]
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_HEAD_LOCK])
        if not cursor.fetchone()[0]:
            return True
        unlocked = False
        try:
            if conn.in_atomic_block:
                _seal_batch(using, batch, locked=True)
            else:
                _seal_locked_round(cursor, conn.vendor, batch)
            # Unlock and look for pending events in one statement (its snapshot predates the
            # unlock, unlike `_seal_if_free`'s): an event committed meanwhile was followed by a
            # nudge of its own process's thread, which comes back for it anyway (a round that
            # finds the head taken returns True), so no event waits on this answer alone.
            cursor.execute(f"SELECT pg_advisory_unlock(%s), ({_PENDING_EXISTS})", [_HEAD_LOCK])
            unlocked = True
            return bool(cursor.fetchone()[1])
        finally:
            if not unlocked:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_HEAD_LOCK])


def _seal_locked_round(cursor: Any, vendor: str, batch: int) -> int:
    """PostgreSQL, outside any transaction, the head lock held by this session: the head and the
    pending events read by one statement (both after the lock was taken: the head cannot be
    stale), then the events and the head sealed by one statement (`_SEAL_PG`). Two round trips
    where `_seal_batch(locked=True)` makes three; falls back to it when the head is missing."""
    pending = select_sql(vendor, "id, seq", "seq IS NULL", "id", batch)
    cursor.execute(
        f"SELECT h.seq, h.chain_hash, p.* FROM {ChainHead._meta.db_table} AS h "  # noqa: S608 (constants)
        f"LEFT JOIN LATERAL ({pending}) AS p ON TRUE WHERE h.id = 1 ORDER BY p.id"
    )
    rows = cursor.fetchall()
    if not rows:  # no head yet: the general path creates it (or refuses to)
        return _seal_batch(cursor.db.alias, batch, locked=True)
    if rows[0][2] is None:  # the head alone: nothing pending
        return 0
    ids, seqs, hashes, (seq, digest) = _chain_rows(rows[0][:2], [row[2:] for row in rows])
    cursor.execute(_SEAL_PG, [ids, seqs, hashes, seq, digest])
    return len(rows)


def _seal_batch(using: str, batch: int, *, savepoint: bool = True, locked: bool = False) -> int:
    """Seal up to `batch` pending events in one transaction. Raw SQL, no models: on SQLite this
    runs inside every writer's transaction, which holds the database's write lock meanwhile.

    `locked`: PostgreSQL, the session already holds the head lock (`_seal_if_free`). Then no
    other sealer can move the head or seal an event meanwhile, the reads need no transaction,
    and the events and the head are updated by a single statement, atomic on its own: three
    round trips to the server instead of seven (BEGIN, lock, head, pending, events, head, COMMIT).
    """
    conn = connections[using]
    head_table = ChainHead._meta.db_table
    if locked and conn.vendor == "postgresql" and not conn.in_atomic_block:
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT seq, chain_hash FROM {head_table} WHERE id = 1")  # noqa: S608
            current = cursor.fetchone()
            if current is not None:
                cursor.execute(select_sql(conn.vendor, "id, seq", "seq IS NULL", "id", batch))
                rows = cursor.fetchall()
                if not rows:
                    return 0
                ids, seqs, hashes, (seq, digest) = _chain_rows(current, rows)
                cursor.execute(_SEAL_PG, [ids, seqs, hashes, seq, digest])
                return len(rows)
        # No head yet: the general path below creates it (or refuses to).
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
        ids, seqs, hashes, (seq, digest) = _chain_rows(current, rows)
        cursor.executemany(f"UPDATE {table()} SET seq = %s, chain_hash = %s WHERE id = %s",  # noqa: S608
                           list(zip(seqs, hashes, ids, strict=True)))
        cursor.execute(_SET_HEAD, [seq, digest])
    return len(rows)


def _chain_rows(current: tuple, rows: list) -> tuple[list, list, list, tuple[int, str]]:
    """Positions and chain values for pending `rows` (id, seq, *content) following `current`."""
    details = _details
    seq, previous_hex = current
    previous = bytes.fromhex(previous_hex)
    ids, seqs, hashes = [], [], []
    for row in rows:
        seq += 1
        previous = hashchain.next_hash(previous, payload(seq, row[2:], details))
        ids.append(row[0])
        seqs.append(seq)
        hashes.append(previous.hex())
    return ids, seqs, hashes, (seq, hashes[-1])


# Every sealed event and the head in one statement (PostgreSQL): a statement is atomic.
_SEAL_PG = (
    f"WITH sealed AS (UPDATE {Event._meta.db_table} AS e SET seq = v.seq, chain_hash = v.chain_hash "  # noqa: S608
    "FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS v(id, seq, chain_hash) WHERE e.id = v.id) "
    f"UPDATE {ChainHead._meta.db_table} SET seq = %s, chain_hash = %s WHERE id = 1"
)
