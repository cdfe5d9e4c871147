"""The rules of the GDPR register that need no database. Pure: no Django.

Sources (docs/compliance.md repeats them):

- GDPR art. 30(1): the register's contents (controller, joint controllers, DPO, purposes,
  categories of persons and data, recipients, transfers, erasure time limits, security measures).
  The CNIL's model (« registre_rgpd_basique ») lays each activity out on one sheet; its seven
  headings of security measures are `MEASURE_HEADINGS` below.
- Seed 004 (/work/shared/seeds/004_…): « Uniquement les CPTS et les MSP doivent désigner un DPO »;
  an individual practice need not (GDPR-6).
- CNIL référentiel « cabinets médicaux et paramédicaux » (délibération 2020-081), read in a
  secondary source: an AIPD is recommended for a group practice sharing one information system
  above 10,000 patients a year (`AIPD_PATIENTS_PER_YEAR`).
- CSP L1111-8 (seeds 001, 004): a processor that hosts health data must be HDS certified.
- The issue: a certificate that expires within 60 days is a warning (`HDS_WARN_DAYS`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

# CNIL référentiel cabinets médicaux 2020 (secondary): AIPD recommended above this many patients a
# year for a group practice sharing one information system.
AIPD_PATIENTS_PER_YEAR = 10_000
# The issue: warn when an HDS certificate expires within this many days.
HDS_WARN_DAYS = 60

# Practice types. Seed 004: a DPO is mandatory for an MSP or a CPTS only.
INDIVIDUAL = "individuel"
GROUP = "groupe"
MSP = "msp"
CPTS = "cpts"
HEALTH_CENTRE = "centre"
PRACTICE_TYPES = (INDIVIDUAL, GROUP, MSP, CPTS, HEALTH_CENTRE)
DPO_REQUIRED_TYPES = frozenset({MSP, CPTS})
# Where several practitioners share one information system (for the AIPD screening).
SHARED_TYPES = frozenset({GROUP, MSP, CPTS, HEALTH_CENTRE})

# The seven headings of security measures of the CNIL model register, in its order.
MEASURE_HEADINGS: tuple[tuple[str, str], ...] = (
    ("access_control", "Contrôle d'accès des utilisateurs"),
    ("traceability", "Mesures de traçabilité"),
    ("software_protection", "Mesures de protection des logiciels"),
    ("backups", "Sauvegarde des données"),
    ("encryption", "Chiffrement des données"),
    ("processors", "Contrôle des sous-traitants"),
    ("other", "Autres mesures"),
)
MEASURE_KEYS = tuple(key for key, _label in MEASURE_HEADINGS)

# The data categories of the CNIL model, in its order.
DATA_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("identity", "État civil, identité, données d'identification"),
    ("personal_life", "Vie personnelle"),
    ("professional_life", "Vie professionnelle"),
    ("economic", "Informations d'ordre économique et financier"),
    ("connection", "Données de connexion"),
    ("location", "Données de localisation"),
    ("health", "Données de santé"),
    ("nir", "Numéro d'inscription au répertoire (NIR) / INS"),
)
# GDPR art. 9 (health) and the NIR (CNIL: « donnée sensible » in the model's yes/no column).
SENSITIVE_CATEGORIES = frozenset({"health", "nir"})


def dpo_required(practice_type: str) -> bool:
    """Seed 004: a DPO is required for an MSP or a CPTS, not for an individual practice."""
    return practice_type in DPO_REQUIRED_TYPES


@dataclass(frozen=True)
class AipdScreening:
    recommended: bool
    reason: str  # one French sentence


def aipd_screening(practice_type: str, patients_per_year: int | None, shared_system: bool) -> AipdScreening:
    """The CNIL référentiel's screening: an AIPD is recommended for a group practice sharing one
    information system above 10,000 patients a year. `patients_per_year` None: not answered."""
    if patients_per_year is None:
        return AipdScreening(False, "Critères non renseignés : nombre de patients par an à indiquer.")
    if patients_per_year < 0:
        raise ValueError("Le nombre de patients par an ne peut pas être négatif.")
    grouped = practice_type in SHARED_TYPES and shared_system
    above = patients_per_year > AIPD_PATIENTS_PER_YEAR
    if grouped and above:
        return AipdScreening(True, (
            f"AIPD recommandée : exercice regroupé avec un système d'information partagé et plus de "
            f"{AIPD_PATIENTS_PER_YEAR:,} patients par an ({patients_per_year:,}).").replace(",", " "))
    if not grouped:
        why = "pas de système d'information partagé entre plusieurs praticiens"
    else:
        why = f"{patients_per_year:,} patients par an, seuil de {AIPD_PATIENTS_PER_YEAR:,}".replace(",", " ")
    return AipdScreening(False, f"AIPD non requise par le référentiel de la CNIL ({why}).")


def hds_expires_soon(expires_on: date | None, today: date) -> bool:
    """True when the certificate has expired or expires within HDS_WARN_DAYS days."""
    return expires_on is not None and expires_on <= today + timedelta(days=HDS_WARN_DAYS)


@dataclass(frozen=True)
class ProcessorFacts:
    name: str
    health_data: bool
    hds_number: str
    hds_expires_on: date | None
    has_contract: bool


def processor_warnings(p: ProcessorFacts, today: date) -> list[str]:
    """What is wrong with a processor, in French (the issue's three warnings)."""
    out: list[str] = []
    if p.health_data and not p.hds_number:
        out.append(f"« {p.name} » héberge des données de santé sans certificat HDS (CSP L1111-8).")
    elif p.health_data and p.hds_expires_on is not None and p.hds_expires_on < today:
        out.append(f"Le certificat HDS de « {p.name} » a expiré le {p.hds_expires_on:%d/%m/%Y}.")
    elif p.health_data and hds_expires_soon(p.hds_expires_on, today):
        out.append(f"Le certificat HDS de « {p.name} » expire le {p.hds_expires_on:%d/%m/%Y} (moins de "
                   f"{HDS_WARN_DAYS} jours).")
    if not p.has_contract:
        out.append(f"Aucun contrat de sous-traitance enregistré pour « {p.name} » (RGPD art. 28).")
    return out


def canonical(data: Any) -> bytes:
    """The bytes a fingerprint is computed on: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def fingerprint(data: Any) -> str:
    """SHA-256 of `canonical(data)`, hex."""
    return hashlib.sha256(canonical(data)).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return " | ".join(f"{k} : {_cell(v)}" for k, v in value.items() if _cell(v))
    if isinstance(value, (list, tuple)):
        return " | ".join(_cell(v) for v in value if _cell(v))
    if isinstance(value, bool):
        return "oui" if value else "non"
    return str(value)


def _guard(text: str) -> str:
    # A cell starting with = + - @ is a formula for LibreOffice and Excel (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_cell(value: Any) -> str:
    """One spreadsheet cell: lists joined, booleans in French, formulas neutralised."""
    return _guard(_cell(value))


CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "Activité"),
    ("created_on", "Date de création"),
    ("updated_on", "Mise à jour"),
    ("joint_controllers", "Responsables conjoints"),
    ("software", "Logiciel"),
    ("purposes", "Finalités"),
    ("legal_basis", "Base légale"),
    ("data_subjects", "Catégories de personnes"),
    ("data_categories", "Catégories de données"),
    ("sensitive_data", "Données sensibles"),
    ("retention", "Durées de conservation"),
    ("recipients", "Destinataires"),
    ("transfers", "Transferts hors UE"),
    *((f"security_measures.{key}", f"Sécurité : {label}") for key, label in MEASURE_HEADINGS),
)


def register_csv(activities: Sequence[Mapping[str, Any]], header: Iterable[tuple[str, Any]] = ()) -> bytes:
    """One row per activity, `;`-separated, UTF-8 with a BOM (Excel reads the accents then;
    LibreOffice ignores it). `header`: (label, value) lines written above the table."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    header = list(header)
    for label, value in header:
        writer.writerow([_guard(label), _guard(_cell(value))])
    if header:
        writer.writerow([])
    writer.writerow([label for _key, label in CSV_COLUMNS])
    for activity in activities:
        row: list[str] = []
        for key, _label in CSV_COLUMNS:
            cell: Any
            if key.startswith("security_measures."):
                cell = activity.get("security_measures", {}).get(key.split(".", 1)[1])
            else:
                cell = activity.get(key)
            row.append(_guard(_cell(cell)))
        writer.writerow(row)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
