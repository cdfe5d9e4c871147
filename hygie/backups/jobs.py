"""Backups run by the worker (hygie.worker): once a day to every enabled destination, and a
restore test once a month. Each job runs once across every app server (leased Job rows); both
also pick up a run asked for from the UI or the CLI (a QUEUED Run row) within seconds."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from hygie.audit.events import Ev, Outcome
from hygie.backups import restore, service
from hygie.backups.models import Run, RunKind, RunStatus
from hygie.worker.registry import job

CHECK_EVERY = timedelta(minutes=15)
# The message of a run whose process died (killed, crashed, machine stopped).
INTERRUPTED = "Interrompue (processus arrêté)."
# A failed run is tried again after this long, not at every check.
RETRY_AFTER = timedelta(hours=1)
# A 2 GB backup to a slow link can take long; another worker takes over only after this.
LEASE = timedelta(hours=6)


def _queued(kind: str) -> Run | None:
    return Run.objects.filter(kind=kind, status=RunStatus.QUEUED).order_by("started_at").first()


def _close_stale(kind: str) -> None:
    """A run still "running" after a whole lease belonged to a worker that died: it would
    otherwise block every request for ever. One whose process is known to be dead (killed on
    this host: hygie.worker.runner.owner_dead) is closed at once."""
    from hygie.worker.runner import owner_dead

    message = INTERRUPTED
    interrupted = {"status": RunStatus.FAILURE, "finished_at": timezone.now(), "message": message}
    Run.objects.filter(kind=kind, status=RunStatus.RUNNING, started_at__lt=timezone.now() - LEASE).update(**interrupted)
    running = Run.objects.filter(kind=kind, status=RunStatus.RUNNING).only("pk", "details")
    dead = [run.pk for run in running if owner_dead(str((run.details or {}).get("owner", "")))]
    for run in Run.objects.filter(pk__in=dead, status=RunStatus.RUNNING).select_related("target"):
        Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(**interrupted)
        # Journaled as the failure it is: the dashboard and the journal show the interruption.
        service.record(
            Ev.BACKUP_FAILED if kind == RunKind.BACKUP else Ev.RESTORE_TEST_FAILED,
            Outcome.FAILURE,
            target=str(run.target.public_id) if run.target else "",
            location=run.location,
            error=message,
        )


def _due(kind: str, interval: timedelta) -> bool:
    now = timezone.now()
    last_ok = (
        Run.objects.filter(kind=kind, status=RunStatus.SUCCESS, target__isnull=False).order_by("-finished_at").first()
    )
    if last_ok and last_ok.finished_at and now - last_ok.finished_at < interval:
        return False
    last_try = (
        Run.objects.filter(kind=kind, target__isnull=False)
        .exclude(status=RunStatus.QUEUED)
        .order_by("-started_at")
        .first()
    )
    # A destination that failed is tried again in an hour; a run that was merely interrupted (its
    # process died) at once.
    return not (
        last_try
        and now - last_try.started_at < RETRY_AFTER
        and last_try.status == RunStatus.FAILURE
        and last_try.message != INTERRUPTED
    )


@job("backup", every=CHECK_EVERY, lease=LEASE)
def daily_backup() -> str:
    _close_stale(RunKind.BACKUP)
    queued = _queued(RunKind.BACKUP)
    interval = timedelta(hours=settings.BACKUP_INTERVAL_HOURS) - CHECK_EVERY
    if queued is None and (not service.enabled_targets() or not _due(RunKind.BACKUP, interval)):
        return "rien à faire"
    try:
        done = service.run(queued=queued)
    except service.BackupError as exc:
        # Journal event and Run row already written; the alert detector raises the alert.
        return f"échec ({str(exc).count(chr(10)) + 1} destination(s))"
    return f"{len(done)} destination(s) sauvegardée(s)"


@job("backup-test-restore", every=CHECK_EVERY, lease=LEASE)
def monthly_restore_test() -> str:
    _close_stale(RunKind.TEST_RESTORE)
    queued = _queued(RunKind.TEST_RESTORE)
    interval = timedelta(days=settings.RESTORE_TEST_INTERVAL_DAYS)
    if queued is None:
        has_backup = Run.objects.filter(kind=RunKind.BACKUP, status=RunStatus.SUCCESS, target__isnull=False).exists()
        if not has_backup or not _due(RunKind.TEST_RESTORE, interval):
            return "rien à faire"
    try:
        result = restore.test_restore(queued=queued)
    except service.BackupError:
        return "échec"
    return f"réussi ({result['documents_decrypted']} documents déchiffrés)"
