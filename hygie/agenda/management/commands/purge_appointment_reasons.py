"""RET-6: erase the reason of appointments that have passed. Run daily (cron, Task Scheduler)
until the worker schedules it."""

from django.core.management.base import BaseCommand
from django.db import transaction

from hygie.agenda.actions import clear_past_reasons


class Command(BaseCommand):
    help = "Efface le motif des rendez-vous passés (conservation minimale, REQUIREMENTS RET-6)."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            count = clear_past_reasons()
        self.stdout.write(f"{count} motif(s) de rendez-vous passés effacé(s).")
