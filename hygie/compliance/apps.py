from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "hygie.compliance"
    label = "compliance"
    verbose_name = "Preuve de conformité RGPD"
