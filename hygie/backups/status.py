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

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from hygie.backups.models import Run, RunKind, RunStatus, Target


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


def _when(run: Run) -> datetime:
    return run.finished_at or run.started_at


def _item(key: str, label: str, runs: QuerySet[Run], limit: timedelta, now: datetime) -> Item:
    success = runs.filter(status=RunStatus.SUCCESS, finished_at__isnull=False).order_by("-finished_at", "-id").first()
    last = success.finished_at if success else None
    failures = runs.filter(status=RunStatus.FAILURE)
    if last is not None:
        failures = failures.filter(Q(finished_at__gt=last) | Q(finished_at__isnull=True, started_at__gt=last))
    failure = failures.order_by("-started_at", "-id").first()
    age = (now - last) if last is not None else None
    return Item(
        key=key,
        label=label,
        last_success=last,
        age=age,
        limit=limit,
        late=age is None or age > limit,
        failed_at=_when(failure) if failure else None,
        failure_message=failure.message if failure else "",
    )


def summary(now: datetime | None = None) -> list[Item]:
    now = now or timezone.now()
    backups = Run.objects.filter(kind=RunKind.BACKUP)
    return [
        _item("backup", _("Dernière sauvegarde"), backups, timedelta(hours=settings.BACKUP_LATE_HOURS), now),
        _item(
            "offsite", _("Dernière copie hors site"),
            backups.filter(Q(offsite=True) & (Q(target__isnull=True) | Target.offsite_q("target__"))),
            timedelta(hours=settings.OFFSITE_LATE_HOURS), now,
        ),
        _item(
            "restore_test", _("Dernier test de restauration"), Run.objects.filter(kind=RunKind.TEST_RESTORE),
            timedelta(days=settings.RESTORE_TEST_LATE_DAYS), now,
        ),
    ]


def any_late(items: list[Item]) -> bool:
    return any(item.late for item in items)
