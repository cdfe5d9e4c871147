"""Which Hygie account a Pro Santé Connect identity opens, and who came back unknown."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hygie.lib import psc


class PscLink(models.Model):
    """An administrator's link from a professional's national identifier (SubjectNameID) to one
    account. The only way a PSC login opens Hygie: nothing is ever created from PSC."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="psc_link")
    national_id = models.CharField(_("identifiant national"), max_length=20, unique=True)
    # As PSC last gave them (at the link, if chosen from a refused attempt, then at each login).
    given_name = models.CharField(max_length=150, blank=True)
    family_name = models.CharField(max_length=150, blank=True)
    profession_code = models.CharField(max_length=10, blank=True)
    # No password login at all for this account.
    psc_only = models.BooleanField(_("Pro Santé Connect uniquement"), default=False)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    linked_at = models.DateTimeField()
    last_login_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"PSC {self.national_id} → {self.user_id}"

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def profession(self) -> str:
        return psc.profession_label(self.profession_code)


class PscUnknownAttempt(models.Model):
    """A professional PSC authenticated but no account is linked to: shown to the administrator
    (name and profession, for confirmation) to link the right account. Purged after 30 days."""

    national_id = models.CharField(max_length=20, unique=True)
    given_name = models.CharField(max_length=150, blank=True)
    family_name = models.CharField(max_length=150, blank=True)
    profession_code = models.CharField(max_length=10, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"PSC {self.national_id}"

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def profession(self) -> str:
        return psc.profession_label(self.profession_code)
