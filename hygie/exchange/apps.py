from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "hygie.exchange"
    label = "exchange"
    verbose_name = "Échange sécurisé"

    def ready(self) -> None:
        # The register of processing activities knows the exchange (docs/compliance.md).
        from hygie.compliance.register import register_activity
        from hygie.exchange.register import activity

        register_activity(activity)
