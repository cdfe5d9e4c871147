from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "hygie.clinical"
    label = "clinical"
    verbose_name = "Dossier clinique"
