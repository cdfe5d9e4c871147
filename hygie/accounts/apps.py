from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "hygie.accounts"
    label = "accounts"
    verbose_name = _("Comptes")

    def ready(self) -> None:
        from hygie.accounts import signals  # noqa: F401
