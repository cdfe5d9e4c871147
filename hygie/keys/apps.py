from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KeysConfig(AppConfig):
    name = "hygie.keys"
    label = "keys"
    verbose_name = _("Clés de chiffrement")

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started

        from hygie.keys import service

        # Data keys live for one request; a rotated key file is picked up at the next one.
        request_started.connect(service.on_request_started, dispatch_uid="hygie-keys-start")
        request_finished.connect(service.on_request_finished, dispatch_uid="hygie-keys-finish")
