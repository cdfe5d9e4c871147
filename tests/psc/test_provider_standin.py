"""allauth's registry holds a stand-in for the PSC provider class (hygie.psc.provider): it must
answer as the real class does, and become it as soon as it is used."""

from __future__ import annotations

from allauth.socialaccount.providers import registry

from hygie.psc import provider as standin
from hygie.psc.config import PROVIDER_ID
from hygie.psc.oidc import provider as real


def test_the_registry_holds_the_stand_in_which_says_what_the_real_class_says():
    assert registry.get_class(PROVIDER_ID) is standin.ProSanteConnectProvider
    stand, cls = standin.ProSanteConnectProvider, real.ProSanteConnectProvider
    assert (stand.id, stand.name, stand.get_package()) == (cls.id, cls.name, cls.get_package())
    assert stand.uses_apps is cls.uses_apps
    assert issubclass(cls, stand)
    assert (PROVIDER_ID, "Pro Santé Connect") in list(registry.as_choices())


def test_an_instance_made_from_the_stand_in_is_the_real_provider(rf, settings):
    settings.PSC_CLIENT_ID, settings.PSC_CLIENT_SECRET = "client", "secret"
    from allauth.socialaccount.adapter import get_adapter

    request = rf.get("/")
    found = get_adapter().get_provider(request, PROVIDER_ID)
    assert type(found) is real.ProSanteConnectProvider
    assert isinstance(found, standin.ProSanteConnectProvider)
