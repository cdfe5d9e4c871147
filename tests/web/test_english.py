"""The interface in English (hygie/locale/en) when the browser asks for it, French otherwise;
and French overrides of allauth's wording (hygie/locale/fr): an « identifiant », never a « pseudo »."""

import gettext
import re
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
FRENCH_REQUESTS = [{"HTTP_ACCEPT_LANGUAGE": "fr"}, {}]
LOCALE = Path(settings.LOCALE_PATHS[0])


def _text(response) -> str:
    """The page's visible text, tags removed and entities decoded."""
    assert response.status_code == 200
    return unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_it_shows_the_login_page_in_english(client, db):
    page = _text(client.get(reverse("account_login"), **EN))
    for english in ("Sign in", "Username", "Password", "Personal account: do not share it."):
        assert english in page
    for french in ("Connexion", "Se connecter", "Identifiant", "Mot de passe"):
        assert french not in page


@pytest.mark.parametrize("headers", FRENCH_REQUESTS)
def test_it_shows_the_login_page_in_french_otherwise(client, db, headers):
    response = client.get(reverse("account_login"), **headers)
    # allauth's placeholder, « Nom d'utilisateur » in its own catalogue, is overridden.
    assert 'placeholder="Identifiant"' in response.content.decode()
    page = _text(response)
    for french in ("Connexion", "Se connecter", "Identifiant", "Mot de passe"):
        assert french in page
    for english in ("Sign in", "Username", "Password"):
        assert english not in page


def test_it_shows_the_dashboard_in_english(personas, login):
    response = login(personas.alice).get("/", **EN)
    assert '<html lang="en">' in response.content.decode()
    page = _text(response)
    for english in ("Dashboard", "Patients", "Billing", "My account", "Log out", "Hello Alice Durand"):
        assert english in page
    for french in ("Tableau de bord", "Facturation", "Mon compte", "Se déconnecter", "Bonjour"):
        assert french not in page


@pytest.mark.parametrize("headers", FRENCH_REQUESTS)
def test_it_shows_the_dashboard_in_french_otherwise(personas, login, headers):
    response = login(personas.alice).get("/", **headers)
    assert '<html lang="fr">' in response.content.decode()
    page = _text(response)
    for french in ("Tableau de bord", "Patients", "Mon compte", "Se déconnecter", "Bonjour Alice Durand"):
        assert french in page
    for english in ("Dashboard", "My account", "Log out", "Hello"):
        assert english not in page


def test_it_shows_the_patient_list_in_english(personas, login):
    page = _text(login(personas.alice).get("/patients/", **EN))
    for english in ("Patients", "My patients", "New patient", "Search", "Log out"):
        assert english in page
    for french in ("Mes patients", "Nouveau patient", "Rechercher", "Se déconnecter"):
        assert french not in page


@pytest.mark.parametrize("headers", FRENCH_REQUESTS)
def test_it_shows_the_patient_list_in_french_otherwise(personas, login, headers):
    page = _text(login(personas.alice).get("/patients/", **headers))
    for french in ("Patients", "Mes patients", "Nouveau patient", "Rechercher", "Se déconnecter"):
        assert french in page
    for english in ("My patients", "New patient", "Search", "Log out"):
        assert english not in page


def test_it_says_identifiant_not_pseudo_when_login_fails(personas, client):
    page = _text(client.post(reverse("account_login"), {"login": "alice", "password": "wrong"}))
    assert "L'identifiant ou le mot de passe est incorrect." in page
    assert "pseudo" not in page.lower()


def test_it_explains_a_failed_login_in_english(personas, client):
    page = _text(client.post(reverse("account_login"), {"login": "alice", "password": "wrong"}, **EN))
    assert "The username and/or password you specified are not correct." in page
    assert "identifiant" not in page.lower()


def _po_msgids(path: Path) -> int:
    """How many messages a .po file defines (its header excluded)."""
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("msgid ")) - 1


@pytest.mark.parametrize("language", ["en", "fr"])
def test_it_ships_compiled_catalogues_that_match_their_sources(language):
    """Every message of the .po is translated and compiled (msgfmt leaves out fuzzy and empty ones):
    run `make messages` after editing a catalogue."""
    directory = LOCALE / language / "LC_MESSAGES"
    with (directory / "django.mo").open("rb") as mo:
        catalogue = gettext.GNUTranslations(mo)._catalog
    msgids = {key[0] if isinstance(key, tuple) else key for key in catalogue} - {""}
    assert len(msgids) == _po_msgids(directory / "django.po")
    assert all(catalogue.values())
