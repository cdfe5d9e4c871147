"""`hygie audit verify`: recompute the whole chain and check it against the signed checkpoints.

Reads one consistent snapshot of the journal without blocking writers, streams the rows through
a raw cursor (no model instances: a million events must verify in a few seconds), and reports
the first bad position.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hygie.audit import chain, checkpoint, conf
from hygie.audit.models import ChainHead, Checkpoint, Event
from hygie.lib import hashchain
from hygie.lib.env import ConfigError

FETCH_SIZE = 20_000
# Below this, starting worker processes costs more than it saves.
PARALLEL_MIN_EVENTS = 200_000


@dataclass
class Report:
    events: int = 0
    checkpoints: int = 0
    pending: int = 0
    anchor_seq: int = 0
    # The first bad position and why, or None when the journal is intact.
    position: int | None = None
    problem: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.position is None

    def summary(self) -> str:
        if self.ok:
            return _("Journal intègre : %(events)s événements, %(checkpoints)s points de contrôle.") % {
                "events": self.events,
                "checkpoints": self.checkpoints,
            }
        return _("Journal altéré à la position %(position)s : %(problem)s") % {
            "position": self.position,
            "problem": self.problem,
        }


@contextlib.contextmanager
def _snapshot(using: str) -> Iterator[None]:
    """One read snapshot for the head, the checkpoints and the events, so that appends made
    while verifying are neither half seen nor mistaken for tampering. Writers are not blocked."""
    conn = connections[using]
    if conn.in_atomic_block:
        yield  # already inside a transaction (tests): it is the snapshot
        return
    if conn.vendor == "postgresql":
        with transaction.atomic(using=using), conn.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
        return
    if conn.vendor == "sqlite":
        # Django would open BEGIN IMMEDIATE, which blocks writers; a deferred read transaction
        # in WAL mode gives a snapshot without taking the write lock.
        conn.ensure_connection()
        conn.connection.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            conn.connection.execute("COMMIT")
        return
    yield


def verify(now: datetime | None = None, using: str = DEFAULT_DB_ALIAS, *, jobs: int | None = None) -> Report:
    """Check the whole journal. `jobs` processes walk separate ranges of a large journal
    (default: one per CPU, at most 4); the chain is checked link by link, so ranges are
    independent once each starts from the stored value its predecessor vouches for."""
    now = now or timezone.now()
    report = Report()
    faults: list[tuple[int, str]] = []

    # The file first: a line is only appended after its checkpoint committed, so every
    # checkpoint of the file is within the snapshot opened below.
    try:
        from_file = checkpoint.read_file()
    except checkpoint.CheckpointFileError as exc:
        from_file = []
        unreadable = _("le fichier des points de contrôle est illisible à la ligne %(line)s.")
        faults.append((1, unreadable % {"line": exc.line}))

    # Inside a caller's transaction (tests), other processes could not see uncommitted rows.
    in_transaction = connections[using].in_atomic_block
    with _snapshot(using):
        head = ChainHead.objects.using(using).filter(pk=1).first()
        sealed_exist = Event.objects.using(using).filter(seq__isnull=False).exists()
        if head is None:
            if sealed_exist:
                faults.append((1, _("la tête du journal a été supprimée.")))
            head = ChainHead(seq=0, anchor_seq=0)
        report.anchor_seq = head.anchor_seq
        from_db = [checkpoint.as_signed(c) for c in Checkpoint.objects.using(using).all()]
        signed = _check_signatures(from_db + from_file, faults)
        report.checkpoints = len({s for s in signed if s >= head.anchor_seq})

        start_hash = hashchain.GENESIS
        if head.anchor_seq:
            anchor = signed.get(head.anchor_seq)
            if anchor is None:
                faults.append(
                    (head.anchor_seq + 1, _("aucun point de contrôle signé ne garantit le début du journal."))
                )
            else:
                start_hash = anchor[0]
                # Pruning only ever cuts events older than the shortest legal window.
                if anchor[1] > now - timedelta(days=conf.RETENTION_MIN_DAYS):
                    too_soon = _("le début du journal a été supprimé avant la fin de la durée de conservation.")
                    faults.append((head.anchor_seq + 1, too_soon))

        checkpoints = {s: h for s, (h, _at) in signed.items() if s > head.anchor_seq}
        ranges = _ranges(using, head.anchor_seq, start_hash, head.seq, 1 if in_transaction else jobs)

    result = _walk(using, ranges, checkpoints)
    report.events = result.count
    if result.fault is not None:
        faults.append((result.position, _describe(result, checkpoints, head.anchor_seq)))
    else:
        if result.last_seq != head.seq:
            faults.append(
                (result.last_seq + 1, _("les événements %(first)s à %(last)s ont disparu.")
                 % {"first": result.last_seq + 1, "last": head.seq})
            )
        elif result.last_hash.hex() != head.chain_hash:
            faults.append((head.seq, _("la tête du journal ne correspond pas au dernier événement.")))
        beyond = [s for s in checkpoints if s > result.last_seq]
        if beyond:
            faults.append(
                (result.last_seq + 1, _("le journal a été tronqué : un point de contrôle signé couvre "
                                        "jusqu'à la position %(seq)s.") % {"seq": max(beyond)})
            )

    # Appends may have happened while walking: compare with the head as it is now.
    with _snapshot(using):
        head = ChainHead.objects.using(using).filter(pk=1).first() or head
        extra = Event.objects.using(using).filter(seq__gt=head.seq).order_by("seq").values_list("seq", flat=True)
        first_extra = extra.first()
        if first_extra is not None:
            faults.append((first_extra, _("événement ajouté hors de la chaîne.")))
        report.pending = Event.objects.using(using).filter(seq__isnull=True).count()

    if faults:
        report.position, report.problem = min(faults, key=lambda f: f[0])
    if report.pending:
        report.notes.append(
            _("%(n)s événements récents ne sont pas encore chaînés (« hygie audit checkpoint » les chaîne).")
            % {"n": report.pending}
        )
    return report


def _stream(cursor) -> Iterator[tuple]:
    while rows := cursor.fetchmany(FETCH_SIZE):
        yield from rows


# (first seq - 1, chain value there, last seq) for each part of the journal to walk.
Range = tuple[int, bytes, int]


def _ranges(using: str, start: int, start_hash: bytes, end: int, jobs: int | None) -> list[Range]:
    jobs = jobs or min(os.cpu_count() or 1, 4)
    if (
        jobs < 2
        or end - start < PARALLEL_MIN_EVENTS
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return [(start, start_hash, end)]
    cuts = [start + (end - start) * i // jobs for i in range(1, jobs)]
    stored = dict(Event.objects.using(using).filter(seq__in=cuts).values_list("seq", "chain_hash"))
    if len(stored) != len(cuts):
        return [(start, start_hash, end)]  # a boundary is missing: one walk will say where
    bounds = [start, *cuts, end]
    starts = [start_hash, *(bytes.fromhex(stored[c]) for c in cuts)]
    return [(bounds[i], starts[i], bounds[i + 1]) for i in range(jobs)]


def _walk_range(using: str, part: Range, checkpoints: dict[int, bytes]) -> hashchain.WalkResult:
    start, start_hash, end = part
    conn = connections[using]
    # In a transaction: outside one, PostgreSQL would materialise the whole result (WITH HOLD).
    with _snapshot(using), conn.chunked_cursor() as cursor:
        cursor.execute(chain.select_sql(conn.vendor, "seq, chain_hash", "seq > %s AND seq <= %s", "seq"), [start, end])
        return hashchain.walk(_stream(cursor), start_seq=start, start_hash=start_hash, checkpoints=checkpoints)


def _walk_range_in_child(args: tuple) -> hashchain.WalkResult:
    result = _walk_range(*args)
    connections.close_all()
    return result


def _walk(using: str, ranges: list[Range], checkpoints: dict[int, bytes]) -> hashchain.WalkResult:
    if len(ranges) == 1:
        return _walk_range(using, ranges[0], checkpoints)
    # Forked children must not share the parent's database connection.
    connections.close_all()
    with ProcessPoolExecutor(len(ranges), mp_context=multiprocessing.get_context("fork")) as pool:
        results = list(pool.map(_walk_range_in_child, [(using, part, checkpoints) for part in ranges]))
    count = 0
    for part, result in zip(ranges, results, strict=True):
        count += result.count
        # Each range checked its own links; the first fault, in order, is the first bad position.
        if result.fault is not None or result.last_seq != part[2]:
            return replace(result, count=count)
    return replace(results[-1], count=count)


def _check_signatures(
    entries: list[checkpoint.SignedCheckpoint], faults: list[tuple[int, str]]
) -> dict[int, tuple[bytes, datetime]]:
    """{seq: (chain value, time)} of the validly signed checkpoints; a fault for each bad one."""
    if not entries:
        return {}
    try:
        key = checkpoint.load_signing_key()
    except ConfigError as exc:
        faults.append((min(e.seq for e in entries), _("signatures invérifiables : %(error)s") % {"error": exc}))
        return {}
    out: dict[int, tuple[bytes, datetime]] = {}
    seen: set[checkpoint.SignedCheckpoint] = set()
    for entry in entries:
        if entry in seen:  # the same checkpoint from the database and from the file
            continue
        seen.add(entry)
        if not checkpoint.is_valid(entry, key):
            faults.append((entry.seq, _("la signature du point de contrôle de cette position est invalide.")))
            continue
        value = bytes.fromhex(entry.chain_hash)
        if entry.seq in out and out[entry.seq][0] != value:
            faults.append((entry.seq, _("deux points de contrôle signés se contredisent.")))
            continue
        out[entry.seq] = (value, datetime.fromisoformat(entry.at))
    return out


def _describe(result: hashchain.WalkResult, checkpoints: dict[int, bytes], anchor_seq: int) -> str:
    match result.fault:
        case hashchain.Fault.MISSING:
            return _("l'événement de cette position a disparu (supprimé).")
        case hashchain.Fault.DUPLICATE:
            return _("cette position apparaît deux fois (événement inséré).")
        case hashchain.Fault.HASH:
            return _("l'empreinte ne correspond pas (événement modifié, inséré ou déplacé).")
        case hashchain.Fault.CHECKPOINT:
            return _(
                "la chaîne ne correspond pas au point de contrôle signé de cette position : des "
                "événements entre les positions %(first)s et %(last)s ont été réécrits."
            ) % {"first": max([anchor_seq, *(s for s in checkpoints if s < result.position)]) + 1,
                 "last": result.position}
    return _("défaut inconnu.")
