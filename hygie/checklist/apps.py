from django.apps import AppConfig


class ChecklistConfig(AppConfig):
    name = "hygie.checklist"
    label = "checklist"
    verbose_name = "Auto-évaluation de la sécurité"
