from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkerConfig(AppConfig):
    name = "hygie.worker"
    label = "worker"
    verbose_name = _("Tâches de fond")

    def ready(self) -> None:
        # Each app declares its periodic jobs in its own `jobs.py` (see hygie.worker.registry).
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("jobs")
