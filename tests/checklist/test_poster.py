"""The poster, read back with pdftotext (poppler-utils): seed 003's checklist with the practice's
ticks and the date, and the fiche réflexe at the bottom."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.checklist import actions, board, catalogue, poster
from hygie.practices.models import Practice

pytestmark = pytest.mark.django_db

# Seed 003, « Checklist de sécurité (à afficher dans le cabinet) », line by line.
SEED_003_CHECKLIST = [
    "Mot de passe fort et personnel par ordinateur",
    "Verrouillage automatique après inactivité",
    "Sessions professionnelles et personnelles séparées",
    "Accès individualisés par praticien (pas de compte partagé)",
    "Aucun mot de passe visible (post-it, carnet)",
    "Wi-Fi sécurisé (WPA2/3) avec réseau invité distinct",
    "Logiciels et OS maintenus à jour",
    "Antivirus actif et actualisé",
    "Sauvegardes automatiques, chiffrées, hors site",
    "Supports amovibles (USB/disques) chiffrés",
    "Aucun envoi de données patients par mail non sécurisé",
    "Affichage patient limité aux écrans nécessaires",
    "Coordonnées 17Cyber disponibles",
    "Contact prestataire/CSIRT à portée de main",
]


def _text(pdf: bytes, tmp_path) -> str:
    assert shutil.which("pdftotext"), "poppler-utils (pdftotext) is needed: scripts/system-deps.sh"
    path = tmp_path / "affiche.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)  # noqa: S603, S607
    return done.stdout.decode("utf-8")


def test_the_catalogue_puts_exactly_seed_003_s_checklist_on_the_poster():
    assert [str(item.label) for item in catalogue.POSTER] == SEED_003_CHECKLIST
    assert all(item.source.startswith("seed 003") for item in catalogue.POSTER)


def test_every_item_says_where_it_comes_from_why_and_what_to_do():
    ids = [item.id for item in catalogue.ITEMS]
    assert len(ids) == len(set(ids))
    for item in catalogue.ITEMS:
        assert item.source and str(item.why) and str(item.todo), item.id
    organisational = {"chiffrement-postes", "pare-feu", "gestionnaire-mots-de-passe", "materiel-pro", "carte-cps",
                      "papier-sous-cle", "assistance-distance", "outils-ia", "formation"}
    assert organisational <= set(ids)


def test_the_poster_shows_the_ticks_the_date_and_the_fiche_reflexe(personas, tmp_path):
    Practice.objects.update_or_create(defaults={"name": "Cabinet des Tilleuls"})
    actions.declare(actor=personas.regine, item_id="wifi", answer="ok", declared_on=timezone.localdate())
    actions.declare(actor=personas.regine, item_id="antivirus", answer="todo", declared_on=timezone.localdate())
    state = board.evaluate()
    text = _text(poster.poster_pdf(state, practice_name="Cabinet des Tilleuls", today=timezone.localdate()), tmp_path)
    flat = " ".join(text.split())
    assert "Check-list de sécurité du cabinet" in flat
    assert "Cabinet des Tilleuls" in flat
    assert f"État au {timezone.localdate():%d/%m/%Y}" in flat
    assert f"score {state.score}/100" in flat
    for label in SEED_003_CHECKLIST:
        assert " ".join(label.split()) in flat, label
    lines = {" ".join(line.split()) for line in text.splitlines()}
    assert "FAIT Wi-Fi sécurisé (WPA2/3) avec réseau invité distinct" in lines
    assert "À FAIRE Antivirus actif et actualisé" in lines
    assert "À VÉRIFIER Mot de passe fort et personnel par ordinateur" in lines
    # Computed from Hygie's state: every persona has a named account.
    assert "FAIT Accès individualisés par praticien (pas de compte partagé)" in lines
    # The fiche réflexe, at the bottom.
    assert flat.index("Fiche réflexe en cas d'incident") > flat.index("Contact prestataire/CSIRT")
    assert "Isoler immédiatement le poste compromis" in flat and "17cyber.gouv.fr" in flat
    assert "CSIRT régional" in flat


def test_the_poster_prints_the_practice_s_incident_contacts_when_there_are_some(personas, tmp_path):
    # The hook the incidents capability will fill (it does not exist yet).
    pdf = poster.poster_pdf(board.evaluate(), practice_name="", today=timezone.localdate(),
                            contacts=lambda: [("Prestataire Info-Santé", "01 23 45 67 89")])
    flat = " ".join(_text(pdf, tmp_path).split())
    assert "Prestataire Info-Santé" in flat and "01 23 45 67 89" in flat


def test_everyone_prints_the_poster_and_it_is_journaled(personas, login, tmp_path):
    response = login(personas.fabien).get(reverse("checklist_poster"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert "Check-list de sécurité du cabinet" in _text(response.content, tmp_path)
    assert Event.objects.filter(action=Ev.CHECKLIST_POSTER_EXPORTED, actor=personas.fabien).count() == 1
