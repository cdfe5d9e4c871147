"""Pro Santé Connect's entry in allauth's registry of providers: a stand-in for the provider
class (hygie.psc.oidc.provider), which is imported on its first use.

allauth imports the `provider` module of every installed app when it starts (its registry), in
every process, whether PSC is configured or not. The real class derives from allauth's OpenID
Connect provider, whose modules import `requests` and urllib3 (~45 ms of processor): a restore,
the worker or a command that never signs anyone in does not pay for them. The registry reads `id`
(the admin `name`), and allauth's URL patterns `get_package()` (hygie.psc.oidc.urls, which imports
the views only when they answer), from the stand-in; anything else asked of it (`uses_apps`, an
instance, `isinstance`) imports the real class and answers from it.
"""

from __future__ import annotations

from typing import Any

from hygie.psc.config import PROVIDER_ID


class _Deferred(type):
    def real(cls) -> type:
        from hygie.psc.oidc.provider import ProSanteConnectProvider

        return ProSanteConnectProvider

    def __getattr__(cls, name: str) -> Any:
        return getattr(cls.real(), name)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls.real()(*args, **kwargs)

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, cls.real())

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, cls.real())


class ProSanteConnectProvider(metaclass=_Deferred):
    id = PROVIDER_ID
    name = "Pro Santé Connect"
    package = "hygie.psc.oidc"  # the real class's too

    @classmethod
    def get_package(cls) -> str:
        return cls.package


provider_classes = [ProSanteConnectProvider]
