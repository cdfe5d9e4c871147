"""The CNIL notification draft: the incident's fields in the order and words of the CNIL's
online form (notifications.cnil.fr; the fields from /work/shared/REFERENCES.md, « Breaches »:
GDPR art. 33(3) contents, plus the form's questions — established or suspected, dates of
discovery, start and end, origin, nature, cause, media, measures). Ready to copy, field by field:
Hygie does not send anything itself (the practitioner, as controller, files it)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from hygie.incidents.models import Contacts, Incident
from hygie.lib import breach
from hygie.practices.models import Practice

EMPTY = "À compléter"
ART34_TEXT = {
    "notify": "Les personnes concernées sont informées individuellement (lettre à chaque patient).",
    "waiver_encrypted": "Pas d'information individuelle : seules des données chiffrées ont été exposées et les "
                        "clés ne l'ont pas été (RGPD art. 34(3)(a)).",
    "waiver_measures": "Pas d'information individuelle : les mesures prises ensuite écartent le risque élevé "
                       "(RGPD art. 34(3)(b)).",
    "public": "Communication publique à la place d'une information individuelle (RGPD art. 34(3)(c)).",
    "not_high_risk": "Pas d'information des personnes : pas de risque élevé pour leurs droits et libertés.",
}


@dataclass(frozen=True)
class Field:
    section: str
    label: str
    value: str


def _when(value: object) -> str:
    if value is None:
        return EMPTY
    return timezone.localtime(value).strftime("%d/%m/%Y %H:%M")  # type: ignore[arg-type]


def _text(value: object) -> str:
    text = str(value if value is not None else "").strip()
    return text or EMPTY


def draft(incident: Incident, *, complement: bool = False) -> list[Field]:
    practice = Practice.current()
    contacts = Contacts.current()
    natures = [label for flag, label in (
        (incident.confidentiality, "Perte de confidentialité"),
        (incident.integrity, "Perte d'intégrité"),
        (incident.availability, "Perte de disponibilité"),
    ) if flag]
    late = breach.is_late(incident.aware_at, incident.notified_at or timezone.now())
    kind = "Complémentaire" if complement else "Initiale"
    if complement and incident.cnil_reference:
        kind += f" (notification initiale n° {incident.cnil_reference})"
    rows = [
        ("Notification", "Type de notification", kind),
        ("Notification", "Motifs du retard (au-delà de 72 heures)",
         _text(incident.delay_reasons) if late else "Sans objet : notification dans les 72 heures"),
        ("Organisme", "Responsable du traitement", _text(practice.name if practice else "")),
        ("Organisme", "Contact (DPO ou autre) pour obtenir des informations", _text(contacts.dpo_contact)),
        ("Violation", "La violation est", "avérée" if incident.established else "suspectée"),
        ("Violation", "Date de découverte", _when(incident.discovered_at)),
        ("Violation", "Date de prise de connaissance", _when(incident.aware_at)),
        ("Violation", "Date de début", _when(incident.started_at)),
        ("Violation", "Date de fin", _when(incident.ended_at) if incident.ended_at else "En cours ou inconnue"),
        ("Violation", "Origine de l'incident", incident.get_origin_display()),
        ("Violation", "Cause de l'incident", incident.get_cause_display()),
        ("Violation", "Circonstances", _text(incident.circumstances)),
        ("Violation", "Nature de la violation", ", ".join(natures) or EMPTY),
        ("Violation", "Supports concernés", _text(incident.media)),
        ("Données", "Catégories de personnes concernées", _text(incident.person_categories or "Patients du cabinet")),
        ("Données", "Nombre approximatif de personnes", _text(incident.persons_count)),
        ("Données", "Catégories de données", _text(incident.data_categories or
                                                   "Données de santé (dossier médical), identité, coordonnées")),
        ("Données", "Nombre approximatif d'enregistrements", _text(incident.records_count)),
        ("Conséquences", "Conséquences probables pour les personnes", _text(incident.consequences)),
        ("Mesures", "Mesures prises pour remédier à la violation", _text(incident.measures_taken)),
        ("Mesures", "Mesures envisagées", _text(incident.measures_planned)),
        ("Information des personnes", "Les personnes ont-elles été ou seront-elles informées ?",
         ART34_TEXT.get(incident.art34, "Décision non encore prise")),
        ("Chiffrement", "Les données exposées étaient-elles chiffrées ?",
         ("Oui, et les clés n'ont pas été exposées" if not incident.keys_exposed else "Oui, mais les clés ont pu "
          "être exposées") if incident.encrypted_only else "Non, ou pas toutes"),
    ]
    return [Field(*row) for row in rows]


def as_text(fields: list[Field]) -> str:
    out: list[str] = []
    section = ""
    for f in fields:
        if f.section != section:
            section = f.section
            out.append(f"\n== {section} ==")
        out.append(f"{f.label} : {f.value}")
    return "\n".join(out).strip() + "\n"
