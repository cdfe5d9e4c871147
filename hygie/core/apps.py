from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "hygie.core"
    label = "core"
    verbose_name = _("Commandes")

    def ready(self) -> None:
        from hygie.core import readviews

        readviews.install()
