"""Are backups up to date? Three questions for the dashboard and the backups page:

- the last successful backup (to any destination, or a one-off `hygie backup run --to`);
- the last successful copy out of reach of this machine (SFTP, S3, an unplugged disk): a run
  to a destination that was off-site when it ran and still is (a disk now marked as staying
  plugged in holds no off-site copy, whatever it held before). A run whose destination was
  removed since keeps what it was: its files stay there;
- the last successful restore test.

Each is late when older than its threshold (HYGIE_BACKUP_LATE_HOURS, HYGIE_OFFSITE_LATE_HOURS,
HYGIE_RESTORE_TEST_LATE_DAYS), or when it never happened; a failure more recent than the last
success is reported with its French message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, Q, QuerySet, Subquery
from django.db.models.expressions import BaseExpression
from django.utils import timezone
from django.utils.translation import gettext as _

from hygie.backups.models import Run, RunKind, RunStatus, Target
from hygie.core import onerow


@dataclass(frozen=True)
class Item:
    key: str  # "backup", "offsite" or "restore_test"
    label: str
    last_success: datetime | None
    age: timedelta | None
    limit: timedelta
    late: bool
    # The last failure, when more recent than the last success (else None).
    failed_at: datetime | None = None
    failure_message: str = ""


def _success(runs: QuerySet[Run]) -> QuerySet[Run]:
    return runs.filter(status=RunStatus.SUCCESS, finished_at__isnull=False).order_by("-finished_at", "-id")


def _failure(runs: QuerySet[Run]) -> QuerySet[Run]:
    """The last failure more recent than the last success (any failure when none succeeded)."""
    last = Subquery(_success(runs).values("finished_at")[:1])
    after = Q(finished_at__gt=last) | Q(finished_at__isnull=True, started_at__gt=last)
    return runs.filter(status=RunStatus.FAILURE).filter(after | ~Exists(_success(runs))).order_by("-started_at", "-id")


def _runs() -> dict[str, QuerySet[Run]]:
    backups = Run.objects.filter(kind=RunKind.BACKUP)
    return {
        "backup": backups,
        "offsite": backups.filter(Q(offsite=True) & (Q(target__isnull=True) | Target.offsite_q("target__"))),
        "restore_test": Run.objects.filter(kind=RunKind.TEST_RESTORE),
    }


def reads() -> dict[str, BaseExpression]:
    """What `summary` needs, as scalar sub-selects (`hygie.core.onerow`): a caller that reads
    other things in the same round trip (the dashboard) passes their values to `summary`.
    They depend on nothing of the moment: compiled once (`onerow.frozen`)."""
    return onerow.frozen(_reads)


def _reads() -> dict[str, BaseExpression]:
    out: dict[str, BaseExpression] = {}
    for key, runs in _runs().items():
        out[f"backup_{key}_success"] = Subquery(_success(runs).values("finished_at")[:1])
        failure = _failure(runs)
        for column in ("started_at", "finished_at", "message"):
            out[f"backup_{key}_failure_{column}"] = Subquery(failure.values(column)[:1])
    return out


def summary(now: datetime | None = None, read: dict[str, Any] | None = None) -> list[Item]:
    """The three items, in one query (or none: `read`, the values of `reads()` read already)."""
    now = now or timezone.now()
    values = read if read is not None else onerow.read(reads())
    limits = {
        "backup": timedelta(hours=settings.BACKUP_LATE_HOURS),
        "offsite": timedelta(hours=settings.OFFSITE_LATE_HOURS),
        "restore_test": timedelta(days=settings.RESTORE_TEST_LATE_DAYS),
    }
    labels = {
        "backup": _("Dernière sauvegarde"),
        "offsite": _("Dernière copie hors site"),
        "restore_test": _("Dernier test de restauration"),
    }
    items = []
    for key in ("backup", "offsite", "restore_test"):
        last = values[f"backup_{key}_success"]
        started = values[f"backup_{key}_failure_started_at"]
        # A failure's moment: when it finished, else when it started (a run that never finished).
        failed_at = (values[f"backup_{key}_failure_finished_at"] or started) if started is not None else None
        age = (now - last) if last is not None else None
        items.append(Item(
            key=key,
            label=labels[key],
            last_success=last,
            age=age,
            limit=limits[key],
            late=age is None or age > limits[key],
            failed_at=failed_at,
            failure_message=(values[f"backup_{key}_failure_message"] or "") if started is not None else "",
        ))
    return items


def any_late(items: list[Item]) -> bool:
    return any(item.late for item in items)
