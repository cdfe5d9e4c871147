"""allauth's pages render in French (LANGUAGE_CODE fr and allauth's French catalogue)."""

from django.urls import reverse

from hygie.accounts.models import User
from tests.accounts.flows import submit_password


def test_it_shows_the_login_page_in_french(client, db):
    page = client.get(reverse("account_login")).content.decode()
    assert "Mot de passe" in page
    assert "Connexion" in page
    assert "Password" not in page and "Sign In" not in page


def test_it_offers_no_signup_link(client, db):
    page = client.get(reverse("account_login")).content.decode()
    assert reverse("account_signup") not in page


def test_it_refuses_signup_in_french(client, db):
    r = client.post(reverse("account_signup"), {"username": "intrus", "password1": "Tr3s-Solide!Mot2passe"})
    assert r.status_code == 429
    assert "Trop de demandes" in r.content.decode()
    assert not User.objects.filter(username="intrus").exists()


def test_it_asks_the_second_step_in_french(personas, client):
    submit_password(client, "alice")
    page = client.get(reverse("mfa_authenticate")).content.decode()
    assert "Authentification à deux facteurs" in page


def test_it_shows_the_reauthentication_page_in_french(personas, login):
    page = login(personas.alice).get(reverse("account_reauthenticate")).content.decode()
    assert "Mot de passe" in page
