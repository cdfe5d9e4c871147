"""`hygie audit prune`: the rolling retention window of the journal (REQUIREMENTS LOG-2).

Events are deleted only up to a signed checkpoint: that checkpoint becomes the anchor from which
`hygie audit verify` restarts the chain (its chain value stands for everything pruned, and its
signature protects it). The anchor is the newest checkpoint made before the cut-off, so every
event it covers is older than the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone

from hygie.audit import chain, conf, journal
from hygie.audit.events import Ev
from hygie.audit.models import Checkpoint, Event


@dataclass(frozen=True)
class PruneResult:
    deleted: int
    anchor_seq: int
    cutoff: datetime


def prune(now: datetime | None = None, using: str = DEFAULT_DB_ALIAS) -> PruneResult:
    now = now or timezone.now()
    cutoff = now - timedelta(days=conf.retention_days())
    with transaction.atomic(using=using):
        head = chain.lock_head(using)
        anchor = (
            Checkpoint.objects.using(using)
            .filter(at__lt=cutoff, seq__gt=head.anchor_seq, seq__lte=head.seq)
            .order_by("-seq")
            .first()
        )
        if anchor is None:
            return PruneResult(0, head.anchor_seq, cutoff)
        deleted, _ = Event.objects.using(using).filter(seq__lte=anchor.seq).delete()
        # Older checkpoints describe deleted events only; the file keeps them (hashes, no data).
        Checkpoint.objects.using(using).filter(seq__lt=anchor.seq).delete()
        head.anchor_seq = anchor.seq
        head.save(using=using, update_fields=["anchor_seq"])
        journal.record(Ev.JOURNAL_PRUNED, details={"anchor": anchor.seq, "deleted": deleted,
                                                   "retention_days": conf.retention_days()})
    return PruneResult(deleted, anchor.seq, cutoff)
