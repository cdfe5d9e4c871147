from django.apps import AppConfig


class RightsConfig(AppConfig):
    name = "hygie.rights"
    label = "rights"
    verbose_name = "Droits des patients"
