from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hygie.keys.fields import EncryptedCharField, EncryptedManager


class Appointment(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="appointments")
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments")
    start = models.DateTimeField(_("début"))
    duration_minutes = models.PositiveSmallIntegerField(_("durée (minutes)"), default=20)
    # A short reason: kept minimal, it can be purged once the appointment has passed.
    reason = EncryptedCharField(_("motif"), max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EncryptedManager()

    class Meta:
        ordering = ["start"]
        indexes = [models.Index(fields=["practitioner", "start"])]

    def __str__(self) -> str:
        # Ids only: this may end up in a log line or an error message.
        return f"Rendez-vous {self.public_id}"
