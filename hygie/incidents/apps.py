from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "hygie.incidents"
    label = "incidents"
    verbose_name = "Incidents et violations"
