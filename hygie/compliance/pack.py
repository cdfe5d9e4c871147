"""The « contrôle CNIL » pack: one archive with every proof seed 004 lists, each file in an index
with its SHA-256.

The pack is a small registry of sections. A section is a name, a French title and a builder that
returns its files ({path inside the section: bytes}), or raises `NotAvailable` with a French
sentence saying why (a capability that does not exist yet): the pack then holds a short note in
its place, never an error. Other apps plug their sections in from their AppConfig.ready:

    from hygie.compliance.pack import register_section
    register_section("droits", "Demandes d'exercice des droits et réponses", build_rights_files)

Registering a name again replaces the builder.

The archive is a ZIP. It is not encrypted: NOTE.txt inside says so. It holds no patient data:
the rights requests (hygie.rights.pack) and the breaches (hygie.incidents.pack) come as codes,
rights, categories, counts and dates.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.backups.models import Run, RunKind
from hygie.compliance import contracts, pdf
from hygie.compliance import register as reg
from hygie.compliance.models import Processor
from hygie.lib import gdpr
from hygie.lib.text import fold

Files = dict[str, bytes]


class NotAvailable(Exception):
    """A section that cannot be produced (yet). The message is French, for the controller."""


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    build: Callable[[dict[str, Any]], Files]


_SECTIONS: dict[str, Section] = {}


def register_section(name: str, title: str, build: Callable[[dict[str, Any]], Files]) -> None:
    """Add or replace a section; `build(register)` returns {relative path: bytes}."""
    _SECTIONS[name] = Section(name, title, build)


def sections() -> list[Section]:
    return list(_SECTIONS.values())


# --- Built-in sections --------------------------------------------------------------------------

def _register_files(register: dict[str, Any]) -> Files:
    return {
        "registre.json": json.dumps(register, ensure_ascii=False, indent=2).encode("utf-8"),
        "registre.csv": reg.csv_bytes(register),
        "registre.pdf": pdf.register_pdf(register),
    }


def _processor_files(register: dict[str, Any]) -> Files:
    files = {"sous-traitants.pdf": pdf.processors_pdf(register)}
    for n, processor in enumerate(Processor.objects.all(), 1):
        if processor.has_contract:
            ext = contracts.EXTENSIONS.get(processor.contract_type, "bin")
            files[f"contrats/{n:02d}-{_slug(processor.name)}.{ext}"] = contracts.open_sealed(
                processor.public_id, processor.contract)
    return files


def _notice_files(register: dict[str, Any]) -> Files:
    return {
        "affiche-salle-attente.pdf": pdf.notice_pdf(register, kind="poster"),
        "note-information.pdf": pdf.notice_pdf(register, kind="handout"),
    }


def _procedures(register: dict[str, Any]) -> Files:
    c = register["controller"]["contact"]
    contact = ", ".join(v for v in (c["name"], c["email"], c["phone"]) if v) or "le référent (à compléter)"
    texts = {
        "demandes-de-droits.txt": f"""Procédure : demandes d'exercice des droits (RGPD art. 12 à 22)

1. Toute demande (accès, rectification, opposition, limitation, portabilité) est transmise à : {contact}.
2. Vérifier l'identité du demandeur (pièce d'identité ; représentant légal pour un mineur).
3. Noter la date de réception : réponse dans un délai d'un mois, prolongeable de deux mois
   si la demande est complexe, en le disant au patient dans le premier mois (art. 12(3)).
4. Accès au dossier médical (CSP L1111-7) : pas avant 48 heures de réflexion, au plus tard
   8 jours, 2 mois si les informations ont plus de 5 ans.
5. Effacement : refusé pendant la durée légale de conservation du dossier (CSP R1112-7) ;
   le motif est expliqué au patient.
6. Portabilité : export dans un format structuré lisible par une machine (art. 20).
7. Conserver la demande et la réponse : elles font partie des preuves de conformité.
""",
        "incidents.txt": """Procédure : incident de sécurité et violation de données (RGPD art. 33, 34)

1. Isoler le poste (débrancher le réseau), ne pas l'éteindre pendant un chiffrement en cours.
2. Préserver les preuves : heure, photos des écrans, journaux ; ne pas payer de rançon.
3. Appeler 17Cyber (17cyber.gouv.fr), puis le CSIRT régional ou le prestataire.
4. Violation de données personnelles : notifier la CNIL dans les 72 heures après en avoir eu
   connaissance (notifications.cnil.fr), au besoin en plusieurs temps ; informer les patients
   si le risque est élevé (art. 34) ; documenter toute violation, même non notifiée.
5. Ne pas reconnecter les sauvegardes avant l'avis d'un expert.
""",
        "sauvegardes-et-restaurations.txt": f"""Procédure : sauvegardes et restaurations

- Sauvegarde automatique quotidienne, chiffrée (age), vers chaque destination active ;
  rotation 7 quotidiennes, 4 hebdomadaires, {settings.BACKUP_KEEP_MONTHLY} mensuelles.
- Au moins une copie hors site (serveur distant, ou disque débranché après la copie).
- Test de restauration automatique tous les {settings.RESTORE_TEST_INTERVAL_DAYS} jours ; alerte au
  tableau de bord au-delà de {settings.RESTORE_TEST_LATE_DAYS} jours sans test réussi.
- Restauration : « hygie backup restore CHEMIN --to REPERTOIRE » (docs/operations.md).
- Le kit de récupération des clés est imprimé et rangé hors du cabinet.
État actuel des destinations :
""" + "\n".join("- " + line for line in register["activities"][0]["security_measures"]["backups"]) + "\n",
        "gestion-des-acces.txt": f"""Procédure : gestion des accès

- Un compte nominatif par personne, jamais partagé ; second facteur obligatoire.
- Les droits suivent le rôle (docs/permissions.md) ; un praticien ne voit que sa patientèle.
- Arrivée : l'administrateur crée le compte ; ce qui ouvre les dossiers d'un titulaire
  (remplacement, réinitialisation) attend l'approbation de ce titulaire.
- Départ : le compte est désactivé le jour même ; ses sessions prennent fin aussitôt.
- Remplacements datés : l'accès s'arrête à la date de fin.
- Revue des habilitations au moins une fois par an (CNIL, « Gérer les habilitations »).
- Verrouillage après {settings.IDLE_LOCK_MINUTES} minutes d'inactivité.
""",
    }
    return {name: text.encode("utf-8") for name, text in texts.items()}


def _journal(register: dict[str, Any]) -> Files:
    last = Event.objects.filter(action=Ev.JOURNAL_VERIFIED).order_by("-id").first()
    if last is None:
        raise NotAvailable("Le journal n'a encore jamais été vérifié (hygie audit verify).")
    data = {"verified_at": timezone.localtime(last.at).isoformat(), "result": last.details or {},
            "retention_days": settings.JOURNAL_RETENTION_DAYS}
    return {"derniere-verification.json": json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")}


def _backup_history(register: dict[str, Any]) -> Files:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Type", "Destination", "Hors site", "Statut", "Début", "Fin", "Message"])
    runs = Run.objects.filter(kind__in=[RunKind.BACKUP, RunKind.TEST_RESTORE, RunKind.VERIFY]).select_related("target")
    for run in runs.order_by("-started_at")[:1000]:
        writer.writerow([
            run.get_kind_display(), run.target.name if run.target else (run.location or "—"),
            "oui" if run.offsite else "non", run.get_status_display(), _iso(run.started_at), _iso(run.finished_at),
            run.message,
        ])
    return {"historique.csv": ("\ufeff" + buf.getvalue()).encode("utf-8")}


def _table(header: list[str], rows: list[list[Any]]) -> bytes:
    """A CSV for a spreadsheet (BOM, « ; »), formula injection neutralised like the register's."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([gdpr.csv_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")


def _rights_files(register: dict[str, Any]) -> Files:
    """The register of patients' requests and the answers given (hygie.rights): codes, rights,
    dates and statuses, never a name (seed 004: « les réponses apportées »)."""
    from hygie.rights import pack as rights_pack

    entries = rights_pack.entries()
    columns = ["request", "patient_code", "right", "requester", "channel", "received_on", "due_on", "rule",
               "extended_on", "status", "answered_on", "on_time", "refusal_ground", "kept_until", "record_erased"]
    header = ["Demande", "Patient (code)", "Droit", "Demandeur", "Canal", "Reçue le", "Échéance", "Règle",
              "Prolongée le", "Statut", "Répondue le", "Dans les délais", "Motif de refus", "Conservé jusqu'au",
              "Dossier effacé"]
    return {
        "demandes.json": _json(entries),
        "demandes.csv": _table(header, [[e[c] for c in columns] for e in entries]),
    }


def _breach_files(register: dict[str, Any]) -> Files:
    """The register of breaches, notified or not (art. 33(5), hygie.incidents; exercises left
    out), and the practice's fiche réflexe. An empty register is itself a proof."""
    from hygie.incidents import pack as incidents_pack

    entries = incidents_pack.entries()
    columns = ["id", "title", "discovered_at", "aware_at", "started_at", "ended_at", "origin", "cause",
               "nature", "persons_count", "records_count", "notification", "notified_at", "art34", "closed_at"]
    header = ["Incident", "Intitulé", "Découvert le", "Connaissance le", "Début", "Fin", "Origine", "Cause",
              "Nature", "Personnes", "Enregistrements", "Notification CNIL", "Notifié le", "Art. 34", "Clos le"]
    rows = [[e[c] for c in columns] for e in entries]
    return {
        "registre-violations.json": _json(entries),
        "registre-violations.csv": _table(header, rows),
        "fiche-reflexe.pdf": incidents_pack.fiche_reflexe_pdf(),
    }


def _iso(when: datetime | None) -> str:
    return timezone.localtime(when).strftime("%d/%m/%Y %H:%M") if when else ""


def _slug(name: str) -> str:
    # ASCII file names: every archive tool and file system reads them.
    keep = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in fold(name).lower())
    return "-".join(part for part in keep.split("-") if part)[:40] or "contrat"


register_section("registre", "Registre des activités de traitement (RGPD art. 30)", _register_files)
register_section("sous-traitants", "Registre des sous-traitants et contrats (RGPD art. 28)", _processor_files)
register_section("information", "Note d'information des patients et du personnel (RGPD art. 13)", _notice_files)
register_section("procedures", "Procédures écrites", _procedures)
register_section("droits", "Demandes d'exercice des droits et réponses", _rights_files)
register_section("violations", "Registre des violations de données (RGPD art. 33.5)", _breach_files)
register_section("journal", "Dernière vérification du journal des accès", _journal)
register_section("sauvegardes", "Historique des sauvegardes et des tests de restauration", _backup_history)


# --- The archive ---------------------------------------------------------------------------------

ENCRYPTION_NOTE = ("Cette archive ZIP n'est pas chiffrée elle-même. Pour l'envoyer, prenez-la chiffrée : bouton "
                   "« Le même, en archive chiffrée (.7z) » de la page RGPD de Hygie, ou « hygie gdpr pack --7z "
                   "--out FICHIER.7z » (7z AES-256, phrase de passe de 7 mots montrée une seule fois, à donner "
                   "par un autre canal que l'archive). Ne l'envoyez jamais en clair par courriel ordinaire ; "
                   "sinon, remettez-la sur un support chiffré.")


@dataclass
class Pack:
    data: bytes
    sha256: str
    files: list[dict[str, Any]]
    unavailable: dict[str, str]
    register: dict[str, Any]


def build(register: dict[str, Any], *, now: datetime | None = None) -> Pack:
    """The archive: every section's files under its own folder, NOTE.txt, and INDEX.json /
    INDEX.txt listing each file with its size and SHA-256."""
    now = now or timezone.now()
    files: list[tuple[str, bytes]] = []
    unavailable: dict[str, str] = {}
    for section in sections():
        try:
            built = section.build(register)
        except NotAvailable as exc:
            unavailable[section.name] = str(exc)
            built = {"NON-DISPONIBLE.txt": (section.title + "\n\n" + str(exc) + "\n").encode("utf-8")}
        for path, content in sorted(built.items()):
            files.append((f"{section.name}/{path}", content))
    stamp = timezone.localtime(now).strftime("%d/%m/%Y à %H:%M")
    note = [
        "Dossier « contrôle CNIL » — preuves de conformité du cabinet",
        f"{register['controller']['name']} — produit par {register['software']} le {stamp}.",
        "",
        ENCRYPTION_NOTE,
        "",
        "Contenu :",
        *(f"- {s.name}/ : {s.title}" + (" — NON DISPONIBLE" if s.name in unavailable else "") for s in sections()),
    ]
    if register["missing"]:
        note += ["", "Profil incomplet, à compléter :", *(f"- {m}" for m in register["missing"])]
    files.insert(0, ("NOTE.txt", ("\n".join(note) + "\n").encode("utf-8")))
    index = [{"path": path, "size": len(content), "sha256": gdpr.sha256(content)} for path, content in files]
    index_json = json.dumps({"generated_at": now.isoformat(), "register_sha256": register.get("version", {}).get(
        "sha256"), "files": index, "unavailable": unavailable}, ensure_ascii=False, indent=2).encode("utf-8")
    index_txt = "".join(f"{f['sha256']}  {f['path']}\n" for f in index).encode("utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, content in [*files, ("INDEX.json", index_json), ("INDEX.sha256", index_txt)]:
            info = zipfile.ZipInfo(path, date_time=timezone.localtime(now).timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    data = buf.getvalue()
    return Pack(data=data, sha256=gdpr.sha256(data), files=index, unavailable=unavailable, register=register)
