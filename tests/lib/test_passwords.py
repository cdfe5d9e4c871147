"""The password rule: CNIL shape (délibération 2022-100) and guessing estimate, without Django."""

from datetime import date

import pytest
from zxcvbn import matching

from hygie.lib import passwords
from hygie.lib.passwords import Personal, personal_problem, problems, strength_problem

NOBODY = Personal()
JEAN = Personal(username="jdupont", first_name="Jérôme", last_name="Lefèvre-Dupont", birth_date=date(1984, 3, 7))


@pytest.mark.parametrize(
    "password",
    [
        "Brume-Falaise-Gr3nat!",  # 21 chars, four classes
        "k7#Pz!qR2m@X",  # exactly 12, four classes, random
        "Montagne2Brume9",  # 15 chars, upper/lower/digit
        "Tr3s-Solide!Mot2passe",  # the test suite's own password
        "cheval-pile-agrafe-correct-batterie-lune-vert",  # 7 words with hyphens
        "Mon chien Filou aime courir dans le jardin du voisin près de la rivière",
        "maison table chaise jardin soleil voiture fenetre",  # 7 plain French words
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
        "le chat de la voisine mange des souris",  # 8 words, only 4 of 4 letters or more
        "aaaa bbbb cccc dddd eeee ffff gggg",  # 7 "words" of one letter repeated
    ],
)
def test_it_refuses_short_or_weak_passwords(password):
    assert strength_problem(password) is not None
    assert problems(password, NOBODY)


# The four passwords of the security probe (issue 18, item 3): the CNIL shape lets the first
# three through; the estimate must not.
PROBES = ["Password1234!", "Azerty123456!", "Aaaaaaaaaaa1!", "le la de un et ou si"]


@pytest.mark.parametrize("password", PROBES)
def test_it_refuses_the_probe_passwords(password):
    assert strength_problem(password) is not None
    assert problems(password, NOBODY)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("Password1234!", "mot de passe très courant"),
        ("Azerty123456!", "mot de passe très courant"),
        ("Motdepasse2024!", "mot de passe très courant"),
        ("Soleil123456!", "mot de passe très courant"),
        ("Aaaaaaaaaaa1!", "répète"),
        ("AbcdefghijkL12", "suite"),
        (",;:!ùmlkjhgf7A", "touches du clavier"),  # an AZERTY walk zxcvbn alone does not know
        ("Mùlkjhgfdsq7!Z", "touches du clavier"),
    ],
)
def test_it_says_why_a_guessable_password_is_refused(password, why):
    assert passwords.shape_problem(password) is None, "the CNIL shape alone lets it through"
    reason = strength_problem(password)
    assert reason is not None and "trop facile à deviner" in reason and why in reason


def test_it_knows_the_azerty_keyboard(monkeypatch):
    walk = ",;:!ùmlkjhgf7A"  # along the bottom and middle rows of a French keyboard
    known = passwords.estimate(walk)
    assert "spatial" in known.patterns and known.guesses_log10 < passwords.MIN_GUESSES_LOG10
    # Without the AZERTY graph, zxcvbn sees random characters.
    monkeypatch.delitem(matching.GRAPHS, "azerty")
    assert passwords.estimate(walk).guesses_log10 >= passwords.MIN_GUESSES_LOG10


@pytest.mark.parametrize(
    "password",
    ["Hygie-Lilas-2024!", "HYGIE#Cabinet!Lilas7", "Cabinet.des.Lilas.1", "LilasHygie!2025x"],
)
def test_it_refuses_the_words_of_the_context(password):
    who = Personal(context=("Cabinet des Lilas",))
    assert passwords.shape_problem(password) is None
    found = problems(password, who, suggest=False)
    assert found and "le nom du cabinet" in found[0]
    assert problems("Brume-Falaise-Gr3nat!", who) == []


def test_the_context_words_do_not_count_as_passphrase_words():
    who = Personal(first_name="Capucine", last_name="Martinez", context=("Maison médicale Lilas",))
    phrase = "hygie lilas maison medicale capucine martinez orbite"
    assert not passwords.is_passphrase(phrase, who.words())
    assert problems(phrase, who)


def test_a_refused_password_comes_with_a_suggested_passphrase():
    found = problems("Azerty123456!", NOBODY)
    assert "phrase de passe" in found[-1]
    suggested = found[-1].split("« ")[1].split(" »")[0]
    words = suggested.split("-")
    assert len(words) == 7 and len(set(words)) == 7
    assert all(w in passwords.french_words() for w in words)
    assert problems(suggested, NOBODY) == [], "the suggestion passes the rule itself"


def test_it_suggests_a_different_passphrase_each_time():
    assert len({passwords.suggest_passphrase() for _ in range(5)}) == 5


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
    assert personal_problem("Brume#Falaise2024!", JEAN) is None
    assert problems("Brume#Falaise2024!", JEAN) == []


def test_it_ignores_very_short_name_parts():
    # A two-letter first name would forbid far too many passwords to protect anything.
    assert personal_problem("Alouette#2024!x", Personal(first_name="Al")) is None


def test_it_reports_both_weakness_and_personal_content():
    found = problems("jerome", JEAN, suggest=False)
    assert len(found) == 2


def test_a_suggestion_the_rule_would_refuse_is_drawn_again(monkeypatch):
    """A random draw can hold a context word (not counted as a passphrase word): never suggested."""
    who = Personal(first_name="Capucine", last_name="Martinez", context=("Maison médicale Lilas",))
    draws = iter(["maison-lilas-capucine-martinez-orbite-falaise-grenat",
                  "brume-falaise-grenat-orbite-sentier-lanterne-moulin"])
    monkeypatch.setattr(passwords, "suggest_passphrase", lambda: next(draws))
    found = problems("Azerty123456!", who)
    assert "brume-falaise-grenat-orbite-sentier-lanterne-moulin" in found[-1]
