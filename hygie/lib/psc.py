"""Pro Santé Connect: the ANS's published parameters and the reading of its claims (pure).

Sources (/work/shared/REFERENCES.md, « Pro Santé Connect »; ANS, documentation PSC):
discovery under `…/auth/realms/esante-wallet/.well-known/wallet-openid-configuration` (the
name is not the standard `openid-configuration`), scope `openid scope_all`, `acr_values=eidas1`
(the ID token carries `acr: eidas1`), PKCE S256; userinfo: `SubjectNameID` (national
practitioner id: 8 + RPPS, or 0 + ADELI), `given_name`, `family_name`,
`SubjectRefPro.exercices[].codeProfession` (nomenclature TRE_G15 ProfessionSante).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

DISCOVERY = {
    # Sandbox ("bac à sable", BAS): test identities, access given with the DataPass request.
    "bas": "https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet/.well-known/wallet-openid-configuration",
    "production": "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet/.well-known/wallet-openid-configuration",
}
# Where the authorization endpoint lives (another host than the discovery document's).
AUTHORIZE_ORIGINS = {
    "bas": "https://wallet.bas.psc.esante.gouv.fr",
    "production": "https://wallet.esw.esante.gouv.fr",
}
SCOPE = ("openid", "scope_all")
# eIDAS substantial: e-CPS or CPS card. The only level Hygie accepts as both factors.
ACR = "eidas1"

# TRE_G15 ProfessionSante, the codes of the professions Hygie serves (others shown by code).
PROFESSIONS = {
    "10": "Médecin",
    "21": "Pharmacien",
    "40": "Chirurgien-dentiste",
    "50": "Sage-femme",
    "60": "Infirmier",
    "70": "Masseur-kinésithérapeute",
    "80": "Pédicure-podologue",
    "91": "Orthophoniste",
    "92": "Orthoptiste",
}

_NATIONAL_ID = re.compile(r"^[0-9A-Za-z]{8,20}$")


class ClaimsError(ValueError):
    """The provider's answer lacks what Hygie needs (no national identifier)."""


@dataclass(frozen=True)
class Professional:
    national_id: str
    given_name: str
    family_name: str
    profession_code: str

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def profession(self) -> str:
        return profession_label(self.profession_code)


def discovery_url(environment: str) -> str:
    try:
        return DISCOVERY[environment]
    except KeyError:
        raise ValueError(f"environnement Pro Santé Connect inconnu : {environment!r} (bas ou production)") from None


def origin(url: str) -> str:
    """scheme://host[:port] of an absolute URL ("" if it is not one)."""
    match = re.match(r"^(https?://[^/?#\s]+)", url or "")
    return match.group(1) if match else ""


def normalize_national_id(value: str) -> str | None:
    """The identifier as PSC sends it (spaces removed), or None if it cannot be one."""
    cleaned = re.sub(r"\s+", "", value or "")
    return cleaned if _NATIONAL_ID.match(cleaned) else None


def profession_label(code: str) -> str:
    if not code:
        return "profession non communiquée"
    return PROFESSIONS.get(code, f"profession (code {code})")


def professional(userinfo: dict[str, Any]) -> Professional:
    """Who came back from PSC, from the userinfo (or ID token) claims."""
    national_id = normalize_national_id(str(userinfo.get("SubjectNameID") or ""))
    if national_id is None:
        raise ClaimsError("SubjectNameID absent ou invalide")
    code = ""
    ref = userinfo.get("SubjectRefPro")
    if isinstance(ref, dict):
        exercices = ref.get("exercices")
        if isinstance(exercices, list) and exercices and isinstance(exercices[0], dict):
            code = str(exercices[0].get("codeProfession") or "")
    return Professional(
        national_id=national_id,
        given_name=str(userinfo.get("given_name") or "")[:150],
        family_name=str(userinfo.get("family_name") or "")[:150],
        profession_code=code[:10],
    )


def strong_enough(acr: object) -> bool:
    """True only for eidas1: a PSC login at that level counts as both factors."""
    return acr == ACR
