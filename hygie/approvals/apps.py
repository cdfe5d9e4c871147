from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "hygie.approvals"
    label = "approvals"
    verbose_name = "Approbations"
