from __future__ import annotations

from django.conf import settings
from django.db import models


class Event(models.Model):
    """One line of the access journal: who did what to which object, never the data itself.

    Targets are internal ids only. `patient_id` is a plain integer, not a foreign key, so the
    journal outlives an erased patient without naming them.
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

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["actor", "at"])]
