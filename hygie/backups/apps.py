from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "hygie.backups"
    label = "backups"
    verbose_name = "Sauvegardes"
