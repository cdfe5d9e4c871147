"""The secure exchange in the GDPR register (docs/compliance.md, issue 19): an activity written
from this app's configuration, added by `hygie.compliance.register.register_activity` from
ExchangeConfig.ready. It appears once the practice can exchange in fact: an MSSanté account is
configured, or an archive or message was made or filed. The MSSanté operator (the SMTP/IMAP
server of the configured account) is then named as recipient and processor.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from hygie.access.policy import Cap
from hygie.compliance import register as reg
from hygie.exchange import account as accounts
from hygie.exchange.models import Exchange
from hygie.lib import exchange as rules


def operator(acc: Any) -> str:
    """How the register names the practice's MSSanté operator: its domain and its SMTP server."""
    return (f"Opérateur de messagerie sécurisée de santé du cabinet ({rules.domain_of(acc.address)}, "
            f"serveur {acc.smtp_host})")


def activity(f: reg.Facts) -> dict[str, Any] | None:
    acc = accounts.current()
    if acc is None and not Exchange.objects.exists():
        return None
    external = [
        "Professionnels de santé de l'équipe de soins du patient (hôpital, laboratoire, confrère), dans les "
        "conditions du CSP L1110-4 : archives 7z chiffrées (AES-256, phrase de passe transmise par un autre canal)",
    ]
    processors = reg._processors_for(f, health=True)
    if acc is not None:
        external.append("Destinataires MSSanté (espace de confiance de la messagerie sécurisée de santé)")
        processors = [operator(acc), *processors]
    return reg._activity(
        f,
        key="echanges",
        name="Échange de documents médicaux avec d'autres professionnels de santé",
        purposes=[
            "Envoi de documents, de comptes rendus et de la synthèse du dossier aux professionnels qui prennent "
            "en charge le patient, par messagerie sécurisée de santé (MSSanté) ou en archive chiffrée.",
            "Réception et classement dans le dossier des documents reçus de ces professionnels.",
        ],
        legal_basis="Prise en charge sanitaire (RGPD art. 9.2.h) ; partage au sein de l'équipe de soins "
                    "(CSP L1110-4) ; le patient peut s'y opposer (blocage « échanges », RGPD art. 21).",
        data_subjects=["Patients"],
        data_categories=reg._categories(
            ("identity", "nom, prénoms, date de naissance, sexe"),
            ("health", "documents, consultations, antécédents choisis pour l'envoi"),
            ("nir", "INS du patient dans les métadonnées IHE XDM, s'il est enregistré"),
        ),
        retention=[
            {"category": "Archive chiffrée en attente de téléchargement",
             "duration": f"{settings.EXCHANGE_OUTBOX_HOURS} heures",
             "source": "Hygie (HYGIE_EXCHANGE_OUTBOX_HOURS)"},
            {"category": "Documents reçus et classés", "duration": "celle du dossier médical",
             "source": "CSP R1112-7"},
        ],
        recipients={
            "internal": reg._internal(f, Cap.EXCHANGE_SEND, Cap.EXCHANGE_RECEIVE),
            "external": external,
            "processors": processors,
        },
        security_measures=reg._measures(
            f, who="seuls le titulaire et son remplaçant envoient ou classent, dans leur patientèle",
            extra_access=[
                "MSSanté : adresse du destinataire vérifiée avant toute connexion, TLS 1.2 au moins avec "
                "certificat vérifié ; archives : 7z AES-256, en-têtes chiffrés, phrase de passe de 90 bits "
                "montrée une fois.",
            ],
        ),
    )
