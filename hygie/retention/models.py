"""Retention: legal holds, the state lists filter on, automatic-purge notices, archive accesses.

The rules themselves are pure (hygie.lib.retention); these rows are what they need and what
they leave. Never query them from a view: go through hygie.access.records and retention actions.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hygie.keys.fields import EncryptedManager, EncryptedTextField


class LegalHold(models.Model):
    """RET-4: an amicable or judicial claim on the practitioner's liability suspends retention.

    Set and lifted by a titulaire of the care team; the reason may name the claim and stays
    encrypted with the patient's key (it never reaches the journal)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="legal_holds")
    started_on = models.DateField(_("début de la suspension"))
    ended_on = models.DateField(_("fin de la suspension"), null=True, blank=True)
    reason = EncryptedTextField(_("motif (réclamation, recours)"))
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)

    objects = EncryptedManager()

    class Meta:
        ordering = ["-started_on", "-created_at"]

    def __str__(self) -> str:
        # Ids only: this may reach a log line or an error page.
        return str(self.public_id)

    @property
    def in_force(self) -> bool:
        return self.ended_on is None


class RetentionState(models.Model):
    """Per patient, what the daily job and every retention action computed last: the date of
    the last intervention (the active base / archive line, RET-7) and the expiry with its rule.

    Plain dates because the database filters on them (lists leave archived records out); the
    last consultation date is plain in `Consultation.date` already. The purge never trusts this
    cache: it recomputes each record from its live data before destroying it."""

    patient = models.OneToOneField("patients.Patient", on_delete=models.CASCADE, related_name="retention_state")
    last_intervention = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    rule = models.CharField(max_length=20)
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["expires_on"]), models.Index(fields=["last_intervention"])]

    def __str__(self) -> str:
        return f"RetentionState({self.patient_id})"


class PurgeNotice(models.Model):
    """Automatic purge only (HYGIE_RETENTION_AUTO_PURGE): the record is due; it will be destroyed
    after `purge_after` unless a hold or a new consultation keeps it. Shown on "À détruire"."""

    patient = models.OneToOneField("patients.Patient", on_delete=models.CASCADE, related_name="purge_notice")
    expires_on = models.DateField()
    rule = models.CharField(max_length=20)
    notified_at = models.DateTimeField(auto_now_add=True)
    purge_after = models.DateField()

    def __str__(self) -> str:
        return f"PurgeNotice({self.patient_id})"


class ArchiveAccess(models.Model):
    """A titulaire opened an archived record (intermediate archive, RET-7), with a reason.
    Time-limited like a break-the-glass access; journaled and flagged in the alerts."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="archive_accesses")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="archive_accesses")
    reason = EncryptedTextField(_("motif de la consultation de l'archive"))
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    objects = EncryptedManager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return str(self.public_id)
