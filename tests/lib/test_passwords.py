"""The CNIL password rule (délibération 2022-100), without Django."""

from datetime import date

import pytest

from hygie.lib.passwords import Personal, personal_problem, problems, strength_problem

NOBODY = Personal()
JEAN = Personal(username="jdupont", first_name="Jérôme", last_name="Lefèvre-Dupont", birth_date=date(1984, 3, 7))


@pytest.mark.parametrize(
    "password",
    [
        "Soleil!Vert42",  # 13 chars, four classes
        "k7#Pz!qR2m@X",  # exactly 12, four classes
        "Montagne2Brume9",  # 15 chars, upper/lower/digit
        "AbcdefghijkL12",  # exactly 14, upper/lower/digit
        "le chat de la voisine mange des souris",  # 8-word passphrase
        "cheval-pile-agrafe-correct-batterie-lune-vert",  # 7 words with hyphens
    ],
)
def test_it_accepts_passwords_strong_enough(password):
    assert strength_problem(password) is None
    assert problems(password, NOBODY) == []


@pytest.mark.parametrize(
    "password",
    [
        "",
        "Sol!Vert42a",  # 11 chars, four classes
        "soleil!vert42",  # 13 chars, no upper case
        "SoleilVertBleu",  # 14 chars, no digit, three classes needed
        "Montagne2Brum",  # 13 chars, upper/lower/digit: 14 needed
        "montagne2brume99",  # 16 chars, no upper case, no special
        "un deux trois quatre cinq six",  # 6 words
        "chat chat chat chat chat chat chat",  # 7 words but one repeated
    ],
)
def test_it_refuses_short_or_weak_passwords(password):
    assert strength_problem(password) is not None
    assert problems(password, NOBODY)


def test_it_gives_a_french_reason():
    reason = strength_problem("court")
    assert "trop faible" in reason and "12 caractères" in reason


@pytest.mark.parametrize(
    ("password", "what"),
    [
        ("xx-JDupont!2024zz", "identifiant"),
        ("Jerome#Soleil2024", "prénom"),  # written without accents
        ("JÉRÔME#Soleil2024", "prénom"),
        ("Soleil#lefevre2024", "nom"),  # one part of a double-barrelled name
        ("Soleil#DUPONT2024", "nom"),
    ],
)
def test_it_refuses_the_users_own_names(password, what):
    assert strength_problem(password) is None, "strong on its own: only the personal rule refuses it"
    reason = personal_problem(password, JEAN)
    assert reason is not None and what in reason


@pytest.mark.parametrize(
    "password",
    [
        "Soleil#07031984x",  # ddmmyyyy
        "Soleil#07/03/1984",  # with separators
        "Soleil#1984-03-07",  # ISO
        "Soleil#19840307",  # yyyymmdd
        "Soleil#Vert070384",  # ddmmyy
        "Né le 0703 en 1984 !X",  # day-month and year apart
    ],
)
def test_it_refuses_the_birth_date(password):
    reason = personal_problem(password, JEAN)
    assert reason is not None and "date de naissance" in reason


def test_it_accepts_a_password_with_nothing_personal():
    assert personal_problem("Soleil#Vert2024!", JEAN) is None
    assert problems("Soleil#Vert2024!", JEAN) == []


def test_it_ignores_very_short_name_parts():
    # A two-letter first name would forbid far too many passwords to protect anything.
    assert personal_problem("Alouette#2024!x", Personal(first_name="Al")) is None


def test_it_reports_both_weakness_and_personal_content():
    found = problems("jerome", JEAN)
    assert len(found) == 2
