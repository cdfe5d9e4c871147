from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkerConfig(AppConfig):
    name = "hygie.worker"
    label = "worker"
    verbose_name = _("Tâches de fond")
    # Each app declares its periodic jobs in its own `jobs.py`, imported when the jobs are first
    # asked for (hygie.worker.registry.jobs), not here: most processes run none.
