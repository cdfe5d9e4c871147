"""Pro Santé Connect login against a real local OpenID Connect provider (tests/oidc)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from hygie.audit.events import Ev, Outcome
from hygie.audit.models import Event
from hygie.psc import actions
from hygie.psc.models import PscLink, PscUnknownAttempt
from tests.psc import flows

pytestmark = pytest.mark.django_db(transaction=True)

ALICE_ID = "899700000011"  # a test identity of the local provider (tests/oidc/server.mjs)
UNKNOWN_ID = "899700000033"


def _link(personas, user, national_id: str = ALICE_ID, psc_only: bool = False) -> None:
    actions.apply_link(actor=personas.adam, user=user, national_id=national_id, psc_only=psc_only)


def test_the_request_carries_psc_parameters(client, psc_settings):
    query = parse_qs(urlsplit(flows.start(client)).query)
    assert set(query["scope"][0].split()) == {"openid", "scope_all"}
    assert query["acr_values"] == ["eidas1"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["nonce"][0] and query["state"][0]
    assert query["redirect_uri"] == ["http://testserver/auth/psc/retour/"]


def test_a_linked_professional_lands_on_the_dashboard_without_totp(client, personas, psc_settings):
    _link(personas, personas.alice)
    _callback, response = flows.login(client, ALICE_ID)
    assert response.status_code == 302
    assert response["Location"] == "/"  # not the TOTP step
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert dashboard.wsgi_request.user == personas.alice
    event = Event.objects.filter(action=Ev.LOGIN_SUCCEEDED).latest("id")
    assert event.details == {"channel": "psc", "acr": "eidas1"}
    assert "eyJ" not in str(Event.objects.values_list("details", flat=True)[::1])  # never a token
    link = PscLink.objects.get(user=personas.alice)
    assert (link.given_name, link.family_name, link.profession_code) == ("Alice", "MARTIN", "10")
    assert link.last_login_at is not None


def test_an_account_without_any_second_factor_is_let_in_by_psc(client, personas, psc_settings):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.filter(user=personas.alice).delete()
    _link(personas, personas.alice)
    flows.login(client, ALICE_ID)
    assert client.get("/").status_code == 200  # no "second factor required" page


def test_an_unknown_professional_is_refused_and_nothing_is_created(client, personas, django_user_model, psc_settings):
    users = django_user_model.objects.count()
    _callback, response = flows.login(client, UNKNOWN_ID)
    assert response.status_code == 403
    assert "administrateur du cabinet" in response.content.decode()
    assert django_user_model.objects.count() == users
    assert not client.get("/").wsgi_request.user.is_authenticated
    attempt = PscUnknownAttempt.objects.get(national_id=UNKNOWN_ID)
    assert (attempt.display_name, attempt.profession) == ("Inès INCONNUE", "Infirmier")
    event = Event.objects.get(action=Ev.PSC_LOGIN_UNKNOWN)
    assert event.outcome == Outcome.DENIED and "INCONNUE" not in str(event.details)


@pytest.mark.parametrize(
    ("fault", "reason", "words"),
    [
        ("acr", "acr", "authentification forte"),
        ("audience", "audience", "adressait pas à ce cabinet"),
        ("expired", "expired", "a expiré"),
        ("signature", "signature", "signature"),
    ],
)
def test_a_bad_id_token_is_refused(client, personas, psc_settings, fault, reason, words):
    _link(personas, personas.alice)
    psc_settings.fault(fault)
    _callback, response = flows.login(client, ALICE_ID)
    assert response.status_code == 403
    assert words in response.content.decode()
    assert not client.get("/").wsgi_request.user.is_authenticated
    event = Event.objects.get(action=Ev.PSC_LOGIN_REFUSED)
    assert event.details == {"channel": "psc", "reason": reason}
    assert not Event.objects.filter(action=Ev.LOGIN_SUCCEEDED).exists()


def test_a_replayed_nonce_is_refused(client, personas, psc_settings):
    _link(personas, personas.alice)
    flows.login(client, ALICE_ID)  # a first login, whose ID token the provider will replay
    client.logout()
    psc_settings.fault("replay")
    _callback, response = flows.login(client, ALICE_ID)
    assert response.status_code == 403
    assert Event.objects.get(action=Ev.PSC_LOGIN_REFUSED).details["reason"] == "nonce"
    assert not client.get("/").wsgi_request.user.is_authenticated


def test_a_replayed_state_is_refused(client, personas, psc_settings):
    _link(personas, personas.alice)
    callback, response = flows.login(client, ALICE_ID)
    assert response.status_code == 302
    client.logout()
    again = client.get(callback)
    assert again.status_code == 403
    assert "déjà été utilisée" in again.content.decode()
    assert Event.objects.get(action=Ev.PSC_LOGIN_REFUSED).details["reason"] == "state"


def test_a_deactivated_account_is_refused(client, personas, psc_settings):
    _link(personas, personas.alice)
    type(personas.alice).objects.filter(pk=personas.alice.pk).update(is_active=False)
    _callback, response = flows.login(client, ALICE_ID)
    assert response.status_code == 403
    assert Event.objects.get(action=Ev.PSC_LOGIN_REFUSED).details["reason"] == "account"


def test_psc_only_refuses_the_password(client, personas, psc_settings):
    from tests.factories import PASSWORD

    _link(personas, personas.alice, psc_only=True)
    response = client.post(reverse("account_login"), {"login": "alice", "password": PASSWORD})
    assert response.status_code == 200  # the form again: refused
    assert not client.get("/").wsgi_request.user.is_authenticated
    flows.login(client, ALICE_ID)
    assert client.get("/").wsgi_request.user == personas.alice


def test_logout_ends_the_psc_session_when_the_practice_chooses(client, personas, psc_settings, settings):
    settings.PSC_END_SESSION = True
    _link(personas, personas.alice)
    flows.login(client, ALICE_ID)
    response = client.post(reverse("account_logout"))
    location = response["Location"]
    assert location.startswith(f"{psc_settings.issuer}/protocol/openid-connect/logout?")
    query = parse_qs(urlsplit(location).query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/auth/login/"]
    assert query["id_token_hint"][0].count(".") == 2
    assert not client.get("/").wsgi_request.user.is_authenticated


def test_without_configuration_there_is_no_button_and_no_flow(client, settings):
    settings.PSC_CLIENT_ID = ""
    assert "Pro Santé Connect" not in client.get(reverse("account_login")).content.decode()
    assert client.post("/auth/psc/connexion/").status_code == 404
    assert client.get("/auth/psc/retour/?state=x&code=y").status_code == 404


def test_with_configuration_the_button_shows(client, psc_settings):
    assert "Se connecter avec Pro Santé Connect" in client.get(reverse("account_login")).content.decode()


def test_allauths_social_pages_are_closed(client, personas):
    client.force_login(personas.alice, backend="hygie.accounts.backends.HygieBackend")
    assert client.get("/auth/3rdparty/").status_code == 404
    assert client.get("/auth/3rdparty/signup/").status_code == 404
