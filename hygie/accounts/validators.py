from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from hygie.lib import passwords


def _practice_name() -> str:
    from hygie.practices.models import Practice

    practice = Practice.current()
    return practice.name if practice else ""


class CnilPasswordValidator:
    """CNIL délibération 2022-100 (~80 bits alone, nothing personal) and a guessing estimate
    that knows common, French and context words (see hygie.lib.passwords)."""

    def validate(self, password: str, user: Any = None) -> None:
        who = passwords.Personal(
            username=getattr(user, "username", "") or "",
            first_name=getattr(user, "first_name", "") or "",
            last_name=getattr(user, "last_name", "") or "",
            birth_date=getattr(user, "birth_date", None),
            context=(_practice_name(),),
        )
        found = passwords.problems(password, who)
        if found:
            raise ValidationError([ValidationError(p, code="password_cnil") for p in found])

    def get_help_text(self) -> str:
        return _(
            "Au moins 12 caractères avec majuscules, minuscules, chiffres et caractères spéciaux ; "
            "ou au moins 14 caractères avec majuscules, minuscules et chiffres ; ou une phrase de "
            "passe d'au moins 7 vrais mots (4 lettres ou plus). Ni mot de passe courant, ni suite "
            "du clavier, ni rien de personnel (nom, identifiant, date de naissance, nom du cabinet)."
        )
