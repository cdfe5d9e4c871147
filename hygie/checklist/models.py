"""What the checklist remembers: declarations (with their encrypted proof), staff training, the
server's diagnostics and one score a day. Computed items are never stored: they are read from
Hygie's state each time (hygie.checklist.board).

Nothing here holds patient data. A proof is an organisational document (an invoice for an
antivirus, a photo of the Wi-Fi settings…); it is still stored encrypted (hygie.checklist.proofs).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hygie.checklist.catalogue import CourseKind


class Answer(models.TextChoices):
    DONE = "ok", _("Fait")
    NOT_YET = "todo", _("Pas encore fait")


class Declaration(models.Model):
    """One person's answer about one declared item, on a date. The latest one per item counts;
    older ones stay as history. It holds one year (hygie.lib.selfcheck)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    item = models.CharField(max_length=40, db_index=True)
    answer = models.CharField(max_length=4, choices=Answer.choices)
    declared_on = models.DateField(_("date de la vérification"))
    note = models.TextField(_("note"), blank=True)
    # AES-256-GCM under the keys service's secrets key, bound to this row (hygie.checklist.proofs).
    proof = models.BinaryField(default=b"", blank=True)
    proof_type = models.CharField(max_length=40, blank=True)
    proof_size = models.PositiveIntegerField(default=0)
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-declared_on", "-id"]
        indexes = [models.Index(fields=["item", "declared_on"])]

    def __str__(self) -> str:
        return f"{self.item} {self.declared_on:%d/%m/%Y}"

    @property
    def has_proof(self) -> bool:
        return self.proof_size > 0


class Training(models.Model):
    """Who followed which security training, and when (yearly, seed 002)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    course = models.CharField(_("formation"), max_length=20, choices=CourseKind.CHOICES)
    title = models.CharField(_("intitulé"), max_length=120, blank=True)
    followed_on = models.DateField(_("suivie le"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-followed_on", "-id"]

    def __str__(self) -> str:
        return f"{self.course} {self.followed_on:%d/%m/%Y}"


class Diagnostic(models.Model):
    """One `hygie diagnostic` run on the server (command with --record, or the daily job)."""

    at = models.DateTimeField(db_index=True)
    host = models.CharField(max_length=120)
    system = models.CharField(max_length=40)
    # [{"id", "label", "status", "detail"}, …] as hygie.lib.hostprobe reports them.
    checks = models.JSONField(default=list)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.host} {self.at:%d/%m/%Y %H:%M}"

    def status_of(self, probe: str) -> tuple[str, str] | None:
        for check in self.checks:
            if check.get("id") == probe:
                return str(check.get("status")), str(check.get("detail", ""))
        return None


class ScoreRecord(models.Model):
    """The score of one day, for the trend."""

    day = models.DateField(unique=True)
    score = models.PositiveSmallIntegerField()
    ok = models.PositiveSmallIntegerField(default=0)
    todo = models.PositiveSmallIntegerField(default=0)
    unknown = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day:%d/%m/%Y} {self.score}"
