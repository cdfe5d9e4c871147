"""A request to open a titulaire's medical data, which takes effect only once approved.

One row per titulaire concerned. A change that reaches several titulaires (the credentials of a
locum replacing two of them) makes one row for each, sharing a `batch`: it is applied when every
row of the batch is approved, and refused as soon as one is refused.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    REPLACEMENT = "replacement", _("Remplacement")
    PASSWORD = "password", _("Mot de passe provisoire défini par l'administrateur")  # noqa: S105
    MFA = "mfa", _("Réinitialisation du second facteur")
    ROLE = "role", _("Rôle de praticien titulaire rendu")
    REACTIVATION = "reactivation", _("Réactivation du compte")
    PSC = "psc", _("Connexion Pro Santé Connect reliée au compte")


class Status(models.TextChoices):
    PENDING = "pending", _("en attente")
    APPROVED = "approved", _("approuvée, en attente des autres titulaires")
    APPLIED = "applied", _("approuvée et appliquée")
    REFUSED = "refused", _("refusée")
    EXPIRED = "expired", _("expirée")


class DecidedAs(models.TextChoices):
    TITULAIRE = "titulaire", _("le titulaire")
    REFERENT = "referent", _("le référent, à la place du titulaire")


OPEN = (Status.PENDING, Status.APPROVED)


class GrantRequest(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    batch = models.UUIDField(default=uuid.uuid4, db_index=True, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # The account that would gain access (or whose credentials change)...
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grant_requests"
    )
    # ...to the patients of this titulaire, who is asked first. When both are the same account
    # (its own credentials, its own return), only the referent may approve, after the delay.
    titulaire = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grant_requests_to_decide"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What to apply: dates of a replacement, the role; a provisional password as its hash only,
    # dropped once the request is closed. Never patient data.
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # From then on the referent may approve in the titulaire's place.
    fallback_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_as = models.CharField(max_length=10, choices=DecidedAs.choices, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["titulaire", "status"], name="grant_titulaire_status")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def self_concerned(self) -> bool:
        """The titulaire is the account itself: they cannot vouch for their own credentials."""
        return self.titulaire_id == self.account_id

    def fallback_open(self) -> bool:
        return timezone.now() >= self.fallback_at
