"""What Hygie knows about its backups: where they go (targets), what each run did, and which
snapshots and document packs each target holds (so that a run sends only new documents and
pruning keeps every pack a kept snapshot needs).

Nothing here names a patient: archive and pack names are timestamps and random suffixes,
document names are the random blob names of hygie.patients.documents.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class TargetKind(models.TextChoices):
    DIRECTORY = "directory", _("Dossier (disque externe, partage réseau)")
    SFTP = "sftp", _("Serveur SFTP")
    S3 = "s3", _("Stockage objet compatible S3")


class Target(models.Model):
    """Where backups go. `config` holds what is not secret (path, host, bucket…); `secret` the
    password or access key, encrypted with the keys service's secrets key (hygie.backups.targets).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=10, choices=TargetKind.choices)
    enabled = models.BooleanField(default=True)
    config = models.JSONField(default=dict, blank=True)
    secret = models.BinaryField(default=b"", blank=True)
    # Directory targets: True for a disk that stays plugged in (ransomware reaches it), False
    # for a removable disk unplugged after the run.
    always_connected = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def offsite(self) -> bool:
        """A copy ransomware on this machine cannot reach: a remote server, or a disk that is
        unplugged after each run."""
        return self.kind != TargetKind.DIRECTORY or not self.always_connected

    @staticmethod
    def offsite_q(prefix: str = "") -> models.Q:
        """`offsite` as a query on targets (`prefix` "target__" for runs); kept next to it."""
        remote = [kind for kind in TargetKind.values if kind != TargetKind.DIRECTORY]
        return models.Q(**{f"{prefix}kind__in": remote}) | models.Q(**{f"{prefix}always_connected": False})


class RunKind(models.TextChoices):
    BACKUP = "backup", _("Sauvegarde")
    VERIFY = "verify", _("Vérification")
    TEST_RESTORE = "test_restore", _("Test de restauration")
    PRUNE = "prune", _("Rotation des générations")


class RunStatus(models.TextChoices):
    # Asked for from the UI or the CLI; the worker's backup job picks it up within seconds.
    QUEUED = "queued", _("demandée")
    RUNNING = "running", _("en cours")
    SUCCESS = "success", _("réussie")
    FAILURE = "failure", _("échec")


class Run(models.Model):
    """One backup, verification or restore test, for the dashboard and the progress bar.
    `target` is null for a one-off `hygie backup run --to DOSSIER`."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=15, choices=RunKind.choices)
    target = models.ForeignKey(Target, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    # A description of where it went when there is no target row (one-off directory).
    location = models.CharField(max_length=300, blank=True)
    offsite = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    bytes_total = models.BigIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    # Counts only (documents sent / already there, archive size, restored rows…).
    details = models.JSONField(default=dict, blank=True)
    # French message for the user on failure; never patient data.
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["kind", "status", "started_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id}"


class Snapshot(models.Model):
    """A cache of what a finished archive on a target holds: its size and the document packs it
    needs (for pruning). The target itself is the truth: an archive missing here is read from
    the target (its manifest comes first), one missing there is forgotten here.

    `location` is the target's public id, or the resolved path of a one-off directory."""

    location = models.CharField(max_length=300)
    name = models.CharField(max_length=120)
    created_at = models.DateTimeField()
    size = models.BigIntegerField(default=0)
    packs = models.JSONField(default=list, blank=True)
    documents = models.IntegerField(default=0)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["location", "name"], name="backups_snapshot_unique")]

    def __str__(self) -> str:
        return self.name
