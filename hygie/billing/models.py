from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hygie.keys.fields import EncryptedCharField, EncryptedDecimalField, EncryptedManager


class CareSheet(models.Model):
    """A care sheet / billing line. The billing clerk sees it under the patient's code only."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="care_sheets")
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="care_sheets")
    date = models.DateField(_("date"))
    acts = EncryptedCharField(_("actes"), max_length=200)
    amount = EncryptedDecimalField(_("montant (€)"), max_digits=8, decimal_places=2)
    paid = models.BooleanField(_("réglé"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EncryptedManager()

    class Meta:
        ordering = ["-date", "-created_at"]

    def __str__(self) -> str:
        # Ids only: this may end up in a log line or an error message.
        return f"Feuille de soins {self.public_id}"


class FavouriteAct(models.Model):
    """A practitioner's usual act (« G », « G + MCG ») with its usual amount: offered first on
    the care sheet form. Tariffs, not patient data: stored in clear."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourite_acts"
    )
    acts = models.CharField(_("actes"), max_length=200)
    amount = models.DecimalField(_("montant (€)"), max_digits=6, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["acts"]
        constraints = [models.UniqueConstraint(fields=["practitioner", "acts"], name="favourite_act_unique")]

    def __str__(self) -> str:
        return f"Acte habituel {self.public_id}"
