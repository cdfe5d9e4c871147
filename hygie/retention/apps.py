from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "hygie.retention"
    label = "retention"
    verbose_name = "Conservation"
