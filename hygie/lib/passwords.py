"""The password rule of the CNIL (délibération 2022-100) for a password used alone.

A password is accepted when its entropy reaches about 80 bits, which the CNIL turns into
three concrete shapes:
- 12 characters or more, with upper case, lower case, digits and special characters;
- 14 characters or more, with upper case, lower case and digits (three classes of four);
- a passphrase of 7 words or more.
It must also contain nothing personal: the login, first or last name, or birth date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from hygie.lib.text import compact, fold

_WORD_SPLIT = re.compile(r"[\s\-_.,;:/+]+")


@dataclass(frozen=True)
class Personal:
    username: str = ""
    first_name: str = ""
    last_name: str = ""
    birth_date: date | None = None


def character_classes(password: str) -> int:
    classes = 0
    classes += any(c.islower() for c in password)
    classes += any(c.isupper() for c in password)
    classes += any(c.isdigit() for c in password)
    classes += any(not c.isalnum() for c in password)
    return classes


def is_passphrase(password: str) -> bool:
    words = [w for w in _WORD_SPLIT.split(password.strip()) if len(w) >= 2]
    return len(words) >= 7 and len(set(w.casefold() for w in words)) >= 7


def strength_problem(password: str) -> str | None:
    """None when the password has the strength the CNIL asks for, else the French reason."""
    if is_passphrase(password):
        return None
    n = len(password)
    classes = character_classes(password)
    has_all_four = classes == 4
    if n >= 12 and has_all_four:
        return None
    if n >= 14 and _has_upper_lower_digit(password):
        return None
    return (
        "Le mot de passe est trop faible. Choisissez au moins 12 caractères avec majuscules, "
        "minuscules, chiffres et caractères spéciaux, ou au moins 14 caractères avec majuscules, "
        "minuscules et chiffres, ou une phrase de passe d'au moins 7 mots."
    )


def _has_upper_lower_digit(password: str) -> bool:
    return (
        any(c.islower() for c in password)
        and any(c.isupper() for c in password)
        and any(c.isdigit() for c in password)
    )


def personal_problem(password: str, who: Personal) -> str | None:
    """None when the password contains nothing personal, else the French reason."""
    haystack = compact(password)
    for label, value in (
        ("votre identifiant", who.username),
        ("votre prénom", who.first_name),
        ("votre nom", who.last_name),
    ):
        for part in fold(value).split(" "):
            if len(part) >= 3 and part in haystack:
                return f"Le mot de passe ne doit pas contenir {label}."
    if who.birth_date:
        digits = re.sub(r"\D", "", password)
        d = who.birth_date
        forms = {
            f"{d:%d%m%Y}",
            f"{d:%Y%m%d}",
            f"{d:%d%m%y}",
            f"{d:%y%m%d}",
            f"{d:%m%d%Y}",
        }
        if any(form in digits for form in forms) or str(d.year) in digits and f"{d:%d%m}" in digits:
            return "Le mot de passe ne doit pas contenir votre date de naissance."
    return None


def problems(password: str, who: Personal) -> list[str]:
    found = [strength_problem(password), personal_problem(password, who)]
    return [p for p in found if p]
