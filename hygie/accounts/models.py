from __future__ import annotations

import uuid
from datetime import datetime

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hygie.access.policy import ASSISTANT_ROLES, PRACTITIONER_ROLES, Role


class User(AbstractUser):
    """One named person. Accounts are never shared and never deleted, only deactivated."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    role = models.CharField(_("rôle"), max_length=20, choices=Role.choices)
    profession = models.CharField(_("profession"), max_length=80, blank=True)
    # Only used to refuse passwords that contain it (CNIL: nothing personal).
    birth_date = models.DateField(_("date de naissance"), null=True, blank=True)
    must_change_password = models.BooleanField(default=False)
    # Bumped to end every session of the user at once ("log out everywhere", deactivation).
    session_epoch = models.PositiveIntegerField(default=0)
    # Secretaries and billing clerks work for some practitioners only.
    assists = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="assistants",
        verbose_name=_("travaille pour"),
        limit_choices_to={"role": Role.TITULAIRE},
    )
    deactivated_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    REQUIRED_FIELDS = ["role"]

    class Meta:
        verbose_name = _("utilisateur")
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.username

    @property
    def is_practitioner(self) -> bool:
        return self.role in PRACTITIONER_ROLES

    @property
    def is_assistant(self) -> bool:
        return self.role in ASSISTANT_ROLES

    def replacements_active_at(self, when: datetime | None = None) -> models.QuerySet[Replacement]:
        when = when or timezone.now()
        return self.replacements.filter(starts_at__lte=when, ends_at__gt=when, ended_early_at__isnull=True)

    def can_sign_in_at(self, when: datetime | None = None) -> bool:
        """Active, and for a remplaçant, within one of their replacements."""
        if not self.is_active:
            return False
        if self.role == Role.REMPLACANT:
            return self.replacements_active_at(when).exists()
        return True


class Replacement(models.Model):
    """A remplaçant works on a titulaire's patientèle between two dates, then loses access."""

    remplacant = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="replacements", limit_choices_to={"role": Role.REMPLACANT}
    )
    titulaire = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="replaced_by", limit_choices_to={"role": Role.TITULAIRE}
    )
    starts_at = models.DateTimeField(_("début"))
    ends_at = models.DateTimeField(_("fin"))
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the replacement stops before `ends_at`: the account changed role or was
    # deactivated (a replacement never survives that: coming back needs a new approval).
    ended_early_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="replacement_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.remplacant} → {self.titulaire} ({self.starts_at:%d/%m/%Y}–{self.ends_at:%d/%m/%Y})"

    def is_active_at(self, when: datetime | None = None) -> bool:
        when = when or timezone.now()
        return self.ended_early_at is None and self.starts_at <= when < self.ends_at
