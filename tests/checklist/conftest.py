from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hygie.backups.models import Run, RunKind, RunStatus, Target, TargetKind


def item(board, item_id: str):
    return next(row for row in board.rows if row.item.id == item_id)


@pytest.fixture
def healthy_backups(db):
    """A remote destination backed up an hour ago and a restore test last week: the backup
    items are "ok" until a test changes that."""
    target = Target.objects.create(
        name="Serveur SFTP", kind=TargetKind.SFTP, config={"host": "sftp.example.org", "path": "/hygie"}
    )
    now = timezone.now()

    def run(kind=RunKind.BACKUP, state=RunStatus.SUCCESS, ago=timedelta(hours=1), message=""):
        finished = now - ago
        return Run.objects.create(
            kind=kind, status=state, target=target, offsite=kind == RunKind.BACKUP,
            started_at=finished - timedelta(minutes=5), finished_at=finished, message=message,
        )

    run()
    run(kind=RunKind.TEST_RESTORE, ago=timedelta(days=7))
    return run
