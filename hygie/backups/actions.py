"""Every change to backup targets and every request for a run, each with its journal event in
the same transaction. Journal details hold ids, kinds and counts: never a secret.

`actor` is the signed-in user, or None for the command line (the journal then records the
"cli" role, as hygie.backups.service does).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hygie.audit import journal
from hygie.audit.events import Ev, Outcome
from hygie.backups import targets
from hygie.backups.models import Run, RunKind, RunStatus, Snapshot, Target, TargetKind
from hygie.backups.stores import StoreError
from hygie.core.actions import CLI_ROLE
from hygie.worker.models import Job

# The worker jobs that take QUEUED runs (hygie/backups/jobs.py). Fixed names: a request moves
# the job's next run to now, so that the worker starts within seconds.
BACKUP_JOB = "backup"
RESTORE_TEST_JOB = "backup-test-restore"
_JOB_OF = {RunKind.BACKUP: BACKUP_JOB, RunKind.TEST_RESTORE: RESTORE_TEST_JOB}

PROBE_PREFIX = "hygie-test-"


class ActionError(Exception):
    """A refused action. The message is French and safe to show."""


def _record(action: Ev, actor: Any, *, target: Target | None = None, outcome: Outcome = Outcome.SUCCESS,
            details: dict[str, Any] | None = None) -> None:
    journal.record(
        action,
        actor=actor,
        target=target,
        outcome=outcome,
        details=details,
        actor_role=None if actor is not None else CLI_ROLE,
    )


def _check_name(name: str, exclude: Target | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ActionError(_("Donnez un nom à la destination."))
    if len(name) > Target._meta.get_field("name").max_length:
        raise ActionError(_("Nom trop long (80 caractères au plus)."))
    others = Target.objects.filter(name__iexact=name)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if others.exists():
        raise ActionError(_("Une destination s'appelle déjà « %(name)s ».") % {"name": name})
    return name


def _check_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    clean = targets.normalise(kind, config)
    errors = targets.config_errors(kind, clean)
    if errors:
        raise ActionError(" ".join(errors.values()))
    return clean


def _secret_part(kind: str, secret: dict[str, Any] | None) -> dict[str, str]:
    return {k: str(v) for k, v in (secret or {}).items() if k in targets.SECRET_KEYS[kind] and v not in (None, "")}


@transaction.atomic
def add_target(
    actor: Any,
    *,
    name: str,
    kind: str,
    config: dict[str, Any],
    secret: dict[str, Any] | None = None,
    always_connected: bool = True,
    enabled: bool = True,
) -> Target:
    """A new destination. SFTP: the practice's client key pair is generated here (private key in
    the encrypted secret, public line in the configuration for the server's authorized_keys)."""
    if kind not in TargetKind.values:
        raise ActionError(_("Type de destination inconnu : %(kind)s.") % {"kind": kind})
    name = _check_name(name)
    clean = _check_config(kind, config)
    secret_data = _secret_part(kind, secret)
    if kind == TargetKind.S3 and not secret_data.get("secret_key"):
        raise ActionError(_("Indiquez la clé secrète."))
    if kind == TargetKind.SFTP and not secret_data.get("private_key"):
        private_key, public_line = targets.generate_client_key()
        secret_data["private_key"] = private_key
        clean["public_key"] = public_line
    target = Target(
        name=name,
        kind=kind,
        enabled=bool(enabled),
        config=clean,
        # Only a directory can stay plugged in; a remote server is out of reach by nature.
        always_connected=bool(always_connected) if kind == TargetKind.DIRECTORY else False,
    )
    targets.set_secret(target, secret_data)
    target.save()
    _record(
        Ev.BACKUP_TARGET_ADDED, actor, target=target,
        details={"target": str(target.public_id), "kind": kind, "offsite": target.offsite},
    )
    return target


@transaction.atomic
def change_target(actor: Any, target: Target, **changes: Any) -> Target:
    """Change `name`, `enabled`, `always_connected`, `config` (the keys given replace those of
    the target) or `secret` (the non-empty values given replace the stored ones; empty ones
    leave them unchanged). The kind of a target never changes."""
    unknown = set(changes) - {"name", "enabled", "always_connected", "config", "secret"}
    if unknown:
        raise ActionError(_("Modification impossible : %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
    changed: list[str] = []
    if "name" in changes and (changes["name"] or "").strip() != target.name:
        target.name = _check_name(changes["name"], exclude=target)
        changed.append("name")
    if "enabled" in changes and bool(changes["enabled"]) != target.enabled:
        target.enabled = bool(changes["enabled"])
        changed.append("enabled")
    if "always_connected" in changes and target.kind == TargetKind.DIRECTORY:
        if bool(changes["always_connected"]) != target.always_connected:
            target.always_connected = bool(changes["always_connected"])
            changed.append("always_connected")
    if changes.get("config"):
        merged = {**(target.config or {}), **changes["config"]}
        clean = _check_config(target.kind, merged)
        if "public_key" in (target.config or {}):
            clean["public_key"] = target.config["public_key"]
        changed += sorted(k for k in clean if clean.get(k) != (target.config or {}).get(k))
        target.config = clean
    new_secret = _secret_part(target.kind, changes.get("secret"))
    if new_secret:
        current = targets.get_secret(target)
        if any(current.get(k) != v for k, v in new_secret.items()):
            targets.set_secret(target, {**current, **new_secret})
            changed.append("secret")
    if not changed:
        return target
    target.save()
    _record(
        Ev.BACKUP_TARGET_CHANGED, actor, target=target,
        details={"target": str(target.public_id), "kind": target.kind, "fields": changed},
    )
    return target


@transaction.atomic
def remove_target(actor: Any, target: Target) -> None:
    """Forget a destination. The files already there stay where they are; the run history stays
    (each run keeps the target's name); the snapshot cache of that location goes."""
    location = str(target.public_id)
    Run.objects.filter(target=target, location="").update(location=target.name[:300])
    snapshots = Snapshot.objects.filter(location=location).delete()[0]
    _record(
        Ev.BACKUP_TARGET_REMOVED, actor, target=target,
        details={"target": location, "kind": target.kind, "snapshots": snapshots},
    )
    target.delete()


def test_target(actor: Any, target: Target) -> str | None:
    """Try the destination: reachable, writable, and (except where object lock would keep it)
    a small probe file written, listed and deleted. None when it works, else the French reason.
    Journaled either way."""
    probe = not targets.locked_objects(target)
    error: str | None = None
    store = None
    try:
        store = targets.open_store(target)
        store.check()
        if probe:
            name = f"{PROBE_PREFIX}{secrets.token_hex(6)}.tmp"
            with store.writer(name) as fh:
                fh.write(b"hygie\n")
            try:
                if name not in store.list():
                    error = _("Le fichier d'essai écrit sur la destination n'y apparaît pas.")
            finally:
                store.delete(name)
    except StoreError as exc:
        error = str(exc) or _("La destination ne répond pas.")
    except Exception as exc:
        # An unexpected failure of a library (network, protocol): its class only, its text may
        # quote anything.
        error = _("Essai impossible (%(error)s).") % {"error": type(exc).__name__}
    finally:
        if store is not None:
            try:
                store.close()
            except Exception:  # noqa: S110 - closing a failed connection
                pass
    with transaction.atomic():
        _record(
            Ev.BACKUP_TARGET_TESTED, actor, target=target,
            outcome=Outcome.SUCCESS if error is None else Outcome.FAILURE,
            details={"target": str(target.public_id), "kind": target.kind, "probe": probe},
        )
    return error


def _request(actor: Any, kind: RunKind, busy: str) -> Run:
    with transaction.atomic():
        now = timezone.now()
        job_name = _JOB_OF[kind]
        # The job row serialises two requests made at once (PostgreSQL: the second waits).
        Job.objects.get_or_create(name=job_name, defaults={"next_run_at": now})
        list(Job.objects.select_for_update().filter(name=job_name))
        if Run.objects.filter(kind=kind, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).exists():
            raise ActionError(busy)
        run = Run.objects.create(kind=kind, status=RunStatus.QUEUED, started_at=now)
        Job.objects.filter(name=job_name).update(next_run_at=now)
        _record(Ev.BACKUP_REQUESTED, actor, details={"kind": str(kind), "run": str(run.public_id)})
    return run


def request_backup(actor: Any) -> Run:
    """A backup to every enabled destination, now (the worker starts it within seconds)."""
    return _request(
        actor, RunKind.BACKUP,
        _("Une sauvegarde est déjà demandée ou en cours : attendez qu'elle se termine."),
    )


def request_test_restore(actor: Any) -> Run:
    """A restore test of the latest backup, now."""
    return _request(
        actor, RunKind.TEST_RESTORE,
        _("Un test de restauration est déjà demandé ou en cours : attendez qu'il se termine."),
    )
