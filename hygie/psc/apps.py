from django.apps import AppConfig


class PscConfig(AppConfig):
    name = "hygie.psc"
    label = "psc"
    verbose_name = "Pro Santé Connect"
    default_auto_field = "django.db.models.BigAutoField"
