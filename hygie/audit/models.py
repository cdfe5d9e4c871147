from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hygie.lib.hashchain import GENESIS


class Event(models.Model):
    """One line of the access journal: who did what to which object, never the data itself.

    Targets are internal ids only. `patient_id` is a plain integer, not a foreign key, so the
    journal outlives an erased patient without naming them.

    `seq` and `chain_hash` are set when the event is sealed into the hash chain (see
    hygie.audit.chain): in the writer's transaction on SQLite, right after its commit on
    PostgreSQL. Until then both are empty and the event is "pending".
    """

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    actor_role = models.CharField(max_length=20, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=10, default="success")
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    patient_id = models.BigIntegerField(null=True, db_index=True)
    ip = models.GenericIPAddressField(null=True)
    request_id = models.CharField(max_length=32, blank=True)
    channel = models.CharField(max_length=8, default="web")
    reason = models.TextField(blank=True)
    # Small structured details: counts, field names changed. Never values of patient fields.
    details = models.JSONField(default=dict, blank=True)
    # Position in the hash chain: gapless from 1 (or from the pruning anchor + 1).
    seq = models.BigIntegerField(null=True, unique=True)
    # SHA-256 chain value after this event, hex (hygie.lib.hashchain).
    chain_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["actor", "at"]),
            # The sealer looks for pending events on every append: keep that lookup tiny.
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="audit_event_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.seq or '-'} {self.action}"


class ChainHead(models.Model):
    """The single row holding the end of the chain. Appending locks it (SELECT … FOR UPDATE on
    PostgreSQL) so that concurrent sealers take turns; it also remembers the pruning anchor."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    chain_hash = models.CharField(max_length=64, default=GENESIS.hex())
    # Events up to this position were pruned; the checkpoint signed at it starts verification.
    anchor_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"head {self.seq}"


class Checkpoint(models.Model):
    """A signed statement "the chain value at position `seq` is `chain_hash`", also appended to
    the checkpoint file outside the data dir, so that rewriting the database is not enough."""

    seq = models.BigIntegerField(unique=True)
    chain_hash = models.CharField(max_length=64)
    at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=128)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"checkpoint {self.seq}"


class AlertKind(models.TextChoices):
    OFF_HOURS = "off_hours", _("Accès aux dossiers hors des heures d'ouverture")
    MANY_RECORDS = "many_records", _("Nombre inhabituel de dossiers ouverts")
    BREAK_GLASS = "break_glass", _("Accès exceptionnel à examiner")
    FAILED_LOGINS = "failed_logins", _("Série d'échecs de connexion")
    MASS_EXPORT = "mass_export", _("Téléchargements ou exports en nombre")
    INACTIVE_ACCOUNT = "inactive_account", _("Tentative de connexion d'un compte désactivé ou expiré")
    JOURNAL_ALTERED = "journal_altered", _("Journal altéré")
    BACKUP_FAILED = "backup_failed", _("Échec de sauvegarde ou de test de restauration")
    GRANT_FALLBACK = "grant_fallback", _("Accès aux données d'un titulaire approuvé par le référent à sa place")
    OUT_OF_SCOPE = "out_of_scope", _("Demandes répétées de dossiers hors périmètre")
    INCIDENT = "incident", _("Incident : Hygie isolé ou délai de notification d'une violation")


class Severity(models.TextChoices):
    INFO = "info", _("information")
    WARNING = "warning", _("à examiner")
    CRITICAL = "critical", _("grave")


class Alert(models.Model):
    """An anomaly found in the journal (hygie.audit.alerts), shown to the referent and the
    administrator until acknowledged. `details` holds ids and counts only, never names.

    `key` says what the alert is about (an account, an address, an access); events of the same
    kind and key close in time extend the open alert rather than raising another one.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    key = models.CharField(max_length=80)
    created_at = models.DateTimeField(db_index=True)
    # Time of the first and last event behind the alert.
    first_event_at = models.DateTimeField()
    last_event_at = models.DateTimeField()
    # The account concerned, if any (the actor, or the account tried for failed logins).
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    details = models.JSONField(default=dict, blank=True)
    # Ids of the journal events behind the alert (at most MAX_EVENT_IDS; details["events"] counts all).
    event_ids = models.JSONField(default=list, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField(blank=True)

    MAX_EVENT_IDS = 1000

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "key", "last_event_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id}"


class AlertCursor(models.Model):
    """The single row remembering up to which chain position the detectors have read."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    scanned_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"alerts scanned to {self.last_seq}"


def logins_of(user_id: int) -> models.QuerySet[Event]:
    """An account's successful logins, newest first (the dashboard's previous login, and the
    grants decided since it).

    EXPLAIN on a 200,000-event journal: SQLite walks the actor's index (actor_id, then rowid);
    PostgreSQL the primary key backwards, or the actor's index for an account with few events:
    about 0.1 ms either way."""
    from hygie.audit.events import Ev

    return Event.objects.filter(actor_id=user_id, action=Ev.LOGIN_SUCCEEDED).order_by("-id")
