from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "hygie.exchange"
    label = "exchange"
    verbose_name = "Échange sécurisé"
