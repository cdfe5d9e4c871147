from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Practice(models.Model):
    """The practice this installation serves. One row: one installation, one practice."""

    name = models.CharField(_("nom du cabinet"), max_length=200)
    is_demo = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("cabinet")

    def __str__(self) -> str:
        return self.name

    @classmethod
    def current(cls) -> Practice | None:
        return cls.objects.order_by("pk").first()
