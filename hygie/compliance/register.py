"""The register of processing activities (GDPR art. 30(1)), written from Hygie's own state.

Every field that the configuration decides is computed here each time, never stored as an
answer: retention from hygie.lib.retention and the settings, internal recipients from the role
matrix (hygie.access.policy) and the active accounts, security measures from what is on (second
factor of each active account, idle lock, per-patient encryption, journal retention and its last
verification, each backup destination with its last success and last restore test), processors
from the processors register. What Hygie cannot know (the controller's address, the contact, the
practice type) comes from the profile, entered once; what is missing is listed under "missing"
rather than failing.

Other apps add their activities with `register_activity(builder)` (e.g. the exchange with other
professionals, once it exists); the builder receives the `Facts` and returns an activity dict, or
None when the activity is not in use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.db import transaction
from django.utils import timezone

import hygie
from hygie.access.policy import Cap, Role, role_can
from hygie.accounts.models import User
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.backups.models import Run, RunKind, RunStatus, Target
from hygie.compliance.models import Processor, Profile, RegisterVersion
from hygie.lib import gdpr, retention
from hygie.practices.models import Practice

SOFTWARE = f"Hygie {hygie.__version__}"
TODO = "À COMPLÉTER"


def day(iso: str | None) -> str:
    """An ISO date as JJ/MM/AAAA (À COMPLÉTER when there is none): the page and the PDFs."""
    if not iso:
        return TODO
    y, m, d = iso[:10].split("-")
    return f"{d}/{m}/{y}"


@dataclass
class Facts:
    """Hygie's state, read once per register."""

    today: date
    practice: Practice | None
    profile: Profile | None
    role_counts: dict[str, int]
    active_users: int
    with_second_factor: int
    titulaires: list[User]
    processors: list[Processor]
    backup_lines: list[str]
    journal_line: str
    created_on: date
    extra: dict[str, Any] = field(default_factory=dict)


ActivityBuilder = Callable[[Facts], "dict[str, Any] | None"]
_EXTRA_ACTIVITIES: list[ActivityBuilder] = []


def register_activity(builder: ActivityBuilder) -> ActivityBuilder:
    """Add a processing activity to the register (other apps call this from their AppConfig.ready)."""
    if builder not in _EXTRA_ACTIVITIES:
        _EXTRA_ACTIVITIES.append(builder)
    return builder


def _d(when: date | datetime | None) -> str:
    if when is None:
        return "jamais"
    if isinstance(when, datetime):
        when = timezone.localtime(when).date()
    return when.strftime("%d/%m/%Y")


def _backup_lines() -> list[str]:
    lines = []
    for target in Target.objects.order_by("name"):
        runs = Run.objects.filter(target=target, status=RunStatus.SUCCESS, finished_at__isnull=False)
        backup = runs.filter(kind=RunKind.BACKUP).order_by("-finished_at").first()
        test = runs.filter(kind=RunKind.TEST_RESTORE).order_by("-finished_at").first()
        state = "" if target.enabled else " (désactivée)"
        where = "hors site" if target.offsite else "sur place"
        lines.append(
            f"{target.name} — {target.get_kind_display()}, {where}{state} : dernière sauvegarde réussie "
            f"{_d(backup.finished_at if backup else None)}, dernier test de restauration réussi "
            f"{_d(test.finished_at if test else None)}."
        )
    one_off = Run.objects.filter(target__isnull=True, kind=RunKind.BACKUP, status=RunStatus.SUCCESS)
    last = one_off.order_by("-finished_at").first()
    if last is not None:
        lines.append(f"Sauvegarde ponctuelle (hygie backup run --to) : dernière le {_d(last.finished_at)}.")
    if not lines:
        lines.append("Aucune destination de sauvegarde configurée : rien n'est sauvegardé automatiquement.")
    return lines


def _journal_line() -> str:
    last = Event.objects.filter(action=Ev.JOURNAL_VERIFIED).order_by("-id").first()
    if last is None:
        verified = "jamais vérifié"
    elif (last.details or {}).get("ok"):
        verified = f"dernière vérification le {_d(last.at)} : intègre"
    else:
        verified = f"dernière vérification le {_d(last.at)} : ALTÉRÉ"
    return (f"Journal des accès chaîné (empreintes SHA-256) et signé, conservé {settings.JOURNAL_RETENTION_DAYS} "
            f"jours ; {verified}.")


def gather(today: date | None = None) -> Facts:
    today = today or timezone.localdate()
    practice = Practice.current()
    profile = Profile.objects.filter(practice=practice).first() if practice else None
    active = User.objects.filter(is_active=True)
    role_counts = {role: 0 for role in Role.values}
    for role in active.values_list("role", flat=True):
        role_counts[role] = role_counts.get(role, 0) + 1
    with_factor = (
        Authenticator.objects.filter(user__in=active, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN])
        .values("user_id").distinct().count()
    )
    return Facts(
        today=today,
        practice=practice,
        profile=profile,
        role_counts=role_counts,
        active_users=sum(role_counts.values()),
        with_second_factor=with_factor,
        titulaires=list(active.filter(role=Role.TITULAIRE).order_by("last_name", "first_name", "username")),
        processors=list(Processor.objects.all()),
        backup_lines=_backup_lines(),
        journal_line=_journal_line(),
        created_on=timezone.localtime(practice.created_at).date() if practice else today,
    )


def missing(today: date | None = None) -> list[str]:
    """`build()["missing"]` without building the whole register (the dashboard's panel): the
    header only needs the practice, its profile and the active titulaires."""
    today = today or timezone.localdate()
    practice = Practice.current()
    facts = Facts(
        today=today,
        practice=practice,
        profile=Profile.objects.filter(practice=practice).first() if practice else None,
        role_counts={},
        active_users=0,
        with_second_factor=0,
        titulaires=list(
            User.objects.filter(is_active=True, role=Role.TITULAIRE).order_by("last_name", "first_name", "username")
        ),
        processors=[],
        backup_lines=[],
        journal_line="",
        created_on=today,
    )
    return _controller(facts)[2]


# --- Header --------------------------------------------------------------------------------------

def _titulaire(user: User) -> str:
    return f"{user.display_name}" + (f" ({user.profession})" if user.profession else "")


def _controller(f: Facts) -> tuple[dict[str, Any], dict[str, Any] | None, list[str]]:
    p = f.profile
    missing: list[str] = []

    def need(value: str, what: str) -> str:
        if not value:
            missing.append(what)
        return value

    practice_type = p.practice_type if p else ""
    controller = {
        "name": f.practice.name if f.practice else need("", "nom du cabinet"),
        "practice_type": need(p.get_practice_type_display() if p and practice_type else "", "type d'exercice"),
        "address": need(p.address if p else "", "adresse du cabinet"),
        "siret": p.siret if p else "",
        "finess": p.finess if p else "",
        "joint_controllers": [
            _titulaire(u) + " — responsable de sa propre patientèle" for u in f.titulaires
        ] if len(f.titulaires) > 1 else [],
        "titulaires": [_titulaire(u) for u in f.titulaires],
        "contact": {
            "kind": (p.get_contact_kind_display() if p and p.contact_kind
                     else need("", "contact protection des données")),
            "name": need(p.contact_name if p else "", "nom du contact protection des données"),
            "email": need(p.contact_email if p else "", "e-mail du contact protection des données"),
            "phone": p.contact_phone if p else "",
        },
        "hosting": need(p.hosting if p else "", "hébergement de Hygie"),
    }
    if not f.titulaires:
        missing.append("aucun praticien titulaire actif")
    dpo = None
    required = gdpr.dpo_required(practice_type)
    if p and p.contact_kind == "dpo":
        dpo = {"name": p.contact_name, "email": p.contact_email, "phone": p.contact_phone,
               "designation": need(p.dpo_designation, "numéro de désignation du DPO"), "required": required}
    elif required:
        missing.append("DPO obligatoire pour une MSP ou une CPTS (désignation auprès de la CNIL)")
    if p and p.hosting and not p.hosting_hds:
        missing.append("hébergement de Hygie : certificat HDS non confirmé")
    return controller, dpo, missing


def _aipd(f: Facts) -> dict[str, Any]:
    p = f.profile
    screening = gdpr.aipd_screening(p.practice_type if p else "", p.patients_per_year if p else None,
                                    bool(p and p.shared_system))
    return {
        "recommended": screening.recommended,
        "result": screening.reason,
        "patients_per_year": p.patients_per_year if p else None,
        "shared_system": bool(p and p.shared_system),
        "screened_on": p.aipd_screened_on.isoformat() if p and p.aipd_screened_on else None,
    }


# --- Activities ----------------------------------------------------------------------------------

def _internal(f: Facts, *caps: Cap) -> list[dict[str, Any]]:
    """The roles that hold any of `caps` and have at least one active account, with the count."""
    out = []
    for role in Role:
        if f.role_counts.get(role, 0) and any(role_can(role, cap) for cap in caps):
            out.append({"role": str(role.label), "count": f.role_counts[role]})
    return out


def _processors_for(f: Facts, *, health: bool) -> list[str]:
    return [p.name for p in f.processors if (p.health_data or not health)]


def _transfers(f: Facts) -> list[str]:
    return [
        f"{p.name} : {p.location or 'pays non renseigné'} — garanties : "
        + (p.transfer_safeguards or "non renseignées")
        for p in f.processors if not p.in_eu
    ]


def _measures(f: Facts, *, who: str, extra_access: list[str] | None = None) -> dict[str, list[str]]:
    missing_2fa = f.active_users - f.with_second_factor
    access = [
        f"Comptes nominatifs ({f.active_users} comptes actifs), jamais partagés ; {who}.",
        (f"Second facteur (TOTP ou clé de sécurité) sur {f.with_second_factor} des {f.active_users} comptes actifs"
         + (f" : {missing_2fa} sans second facteur, aucune donnée avant son enregistrement." if missing_2fa else
            " : tous.")),
        f"Verrouillage après {settings.IDLE_LOCK_MINUTES} min d'inactivité ; session de {settings.SESSION_MAX_HOURS} h "
        "au plus.",
        "Mots de passe : règle CNIL (délibération 2022-100) et estimation de robustesse, hachés en Argon2id ; "
        "attente croissante après des échecs de connexion.",
        *(extra_access or []),
    ]
    processors = [f"{p.name} : " + (f"HDS n° {p.hds_number}" if p.hds_number else "sans certificat HDS")
                  + (f" (valide jusqu'au {_d(p.hds_expires_on)})" if p.hds_expires_on else "")
                  + (f", contrat du {_d(p.contract_signed_on)}" if p.has_contract and p.contract_signed_on
                     else ", contrat enregistré" if p.has_contract else ", contrat manquant")
                  for p in f.processors] or ["Aucun sous-traitant enregistré."]
    return {
        "access_control": access,
        "traceability": [
            f.journal_line,
            "Chaque consultation, création, modification, export et suppression est journalisée (auteur, date, "
            "opération, référence de la donnée, jamais son contenu).",
        ],
        "software_protection": [
            f"{SOFTWARE} : dépendances figées (requirements.lock) et auditées ; politique de sécurité du contenu "
            "stricte (CSP) ; accès HTTPS par un proxy de confiance.",
        ],
        "backups": f.backup_lines,
        "encryption": [
            "Chiffrement au repos par patient : une clé de données par patient (AES-256-GCM), enveloppée par une "
            "clé maîtresse conservée hors du répertoire de données.",
            "Sauvegardes chiffrées (age) avant de quitter la machine.",
        ],
        "processors": processors,
        "other": [
            "Check-list de sécurité du cabinet tenue dans Hygie (affiche, formations annuelles).",
            "Durées de conservation appliquées par Hygie (destruction avec l'accord du titulaire, suspensions).",
        ],
    }


def _categories(*items: tuple[str, str]) -> list[dict[str, Any]]:
    labels = dict(gdpr.DATA_CATEGORIES)
    return [{"category": key, "label": labels[key], "sensitive": key in gdpr.SENSITIVE_CATEGORIES, "details": details}
            for key, details in items]


def _activity(f: Facts, **fields: Any) -> dict[str, Any]:
    categories = fields["data_categories"]
    base = {
        "created_on": f.created_on.isoformat(),
        "updated_on": f.today.isoformat(),
        "joint_controllers": [_titulaire(u) for u in f.titulaires] if len(f.titulaires) > 1 else [],
        "software": SOFTWARE,
        "sensitive_data": [c["label"] for c in categories if c["sensitive"]],
        "transfers": _transfers(f) or ["Aucun transfert hors de l'Union européenne."],
    }
    base.update(fields)
    return base


def _patient_records(f: Facts) -> dict[str, Any]:
    active_years = settings.RETENTION_ACTIVE_YEARS
    return _activity(
        f,
        key="dossiers",
        name="Gestion des dossiers des patients et suivi des soins",
        purposes=[
            "Tenue du dossier médical : antécédents, consultations, documents, prescriptions.",
            "Suivi des soins et coordination avec l'équipe de soins du patient (CSP L1110-4, L1110-12).",
        ],
        legal_basis="Prise en charge sanitaire (RGPD art. 9.2.h) ; obligation légale de tenue du dossier.",
        data_subjects=["Patients", "Représentants légaux des patients mineurs ou protégés"],
        data_categories=_categories(
            ("identity", "nom de naissance et d'usage, prénoms, date de naissance, sexe, coordonnées"),
            ("personal_life", "situation familiale, personne de confiance, si le praticien la note"),
            ("professional_life", "profession, si utile aux soins"),
            ("health", "antécédents, consultations, examens, documents, traitements"),
            ("nir", "NIR ou INS (identité nationale de santé)"),
        ),
        retention=[
            {"category": "Dossier médical", "duration": f"{retention.RULE_LABELS[retention.RULE_RECORD]} ; "
             f"{retention.RULE_LABELS[retention.RULE_MINOR]} ; {retention.RULE_LABELS[retention.RULE_DEATH]}",
             "source": "CSP R1112-7, RET-1 à RET-3"},
            {"category": "Base active", "duration": f"{active_years} ans après la dernière intervention, puis archive "
             "intermédiaire à accès restreint jusqu'au terme",
             "source": "Référentiel CNIL 2020 (HYGIE_RETENTION_ACTIVE_YEARS)"},
            {"category": "Suspension", "duration": retention.RULE_LABELS[retention.RULE_HOLD], "source": "CSP R1112-7"},
        ],
        recipients={
            "internal": _internal(f, Cap.MEDICAL_VIEW, Cap.PATIENT_IDENTITY_VIEW),
            "external": ["Professionnels de santé de l'équipe de soins du patient, dans les conditions du CSP "
                         "L1110-4", "Le patient lui-même (accès à son dossier, CSP L1111-7)"],
            "processors": _processors_for(f, health=True),
        },
        security_measures=_measures(f, who="les praticiens ne voient que leur patientèle ; l'accès exceptionnel "
                                    "exige un motif et prévient le titulaire",
                                    extra_access=["Matrice rôles × capacités : l'accueil et la facturation ne voient "
                                                  "pas le contenu médical."]),
    )


def _appointments(f: Facts) -> dict[str, Any]:
    return _activity(
        f,
        key="rendez-vous",
        name="Gestion des rendez-vous",
        purposes=["Prise, modification et annulation des rendez-vous des patients."],
        legal_basis="Prise en charge sanitaire (RGPD art. 9.2.h).",
        data_subjects=["Patients"],
        data_categories=_categories(
            ("identity", "nom, prénoms, coordonnées"),
            ("health", "motif du rendez-vous, praticien consulté"),
        ),
        retention=[{"category": "Rendez-vous passés", "duration": f"{settings.APPOINTMENT_RETENTION_MONTHS} mois",
                    "source": "Seed 004 : « dès qu'elles ne sont plus nécessaires » "
                              "(HYGIE_APPOINTMENT_RETENTION_MONTHS)"}],
        recipients={"internal": _internal(f, Cap.AGENDA_VIEW), "external": [],
                    "processors": _processors_for(f, health=True)},
        security_measures=_measures(f, who="l'agenda d'un praticien n'est visible que de lui, de son remplaçant et "
                                    "des secrétaires qui travaillent pour lui"),
    )


def _billing(f: Facts) -> dict[str, Any]:
    return _activity(
        f,
        key="facturation",
        name="Facturation et télétransmission des feuilles de soins",
        purposes=["Établissement des feuilles de soins, télétransmission à l'assurance maladie, suivi des "
                  "règlements, comptabilité du cabinet."],
        legal_basis="Obligation légale (Code de la sécurité sociale) ; prise en charge sanitaire.",
        data_subjects=["Patients", "Assurés ouvrant droit"],
        data_categories=_categories(
            ("identity", "nom, prénoms, date de naissance"),
            ("economic", "actes, montants, règlements, organisme de rattachement"),
            ("nir", "NIR de l'assuré"),
            ("health", "actes réalisés (révélateurs de l'état de santé)"),
        ),
        retention=[
            {"category": "Double électronique des feuilles de soins",
             "duration": f"{retention.CARE_SHEET_COPY_MONTHS} mois", "source": "CSS R161-47 (RET-5)"},
            {"category": "Pièces comptables", "duration": f"{settings.ACCOUNTING_RETENTION_YEARS} ans",
             "source": "Code de commerce L123-22 / LPF L102 B (HYGIE_ACCOUNTING_RETENTION_YEARS)"},
        ],
        recipients={"internal": _internal(f, Cap.BILLING_VIEW),
                    "external": ["Caisses d'assurance maladie obligatoire", "Organismes complémentaires",
                                 "Expert-comptable ou association de gestion agréée (sans données de santé)"],
                    "processors": [p.name for p in f.processors]},
        security_measures=_measures(f, who="la facturation ne voit que des codes pseudonymes, jamais les noms"),
    )


def _staff(f: Facts) -> dict[str, Any]:
    days = settings.JOURNAL_RETENTION_DAYS
    return _activity(
        f,
        key="comptes",
        name="Gestion des comptes du personnel et journal de sécurité",
        purposes=["Authentification des utilisateurs, gestion des habilitations, traçabilité des accès aux "
                  "dossiers, détection des accès anormaux."],
        legal_basis="Obligation de sécurité (RGPD art. 32) ; intérêt légitime du cabinet.",
        data_subjects=["Praticiens titulaires et remplaçants", "Personnel du cabinet", "Administrateur technique"],
        data_categories=_categories(
            ("identity", "nom, prénoms, identifiant, adresse e-mail"),
            ("professional_life", "rôle, profession, praticiens pour qui la personne travaille, formations"),
            ("connection", "dates et heures de connexion, adresse IP, opérations effectuées"),
        ),
        retention=[
            {"category": "Journal des accès", "duration": f"{days} jours (fenêtre glissante)",
             "source": "CNIL délibération 2021-122 : 6 mois à 3 ans (HYGIE_JOURNAL_RETENTION_DAYS)"},
            {"category": "Compte désactivé", "duration": f"données personnelles effacées {days} jours après la "
             "désactivation (le compte reste, anonymisé, pour le journal)", "source": "Hygie, fenêtre du journal"},
        ],
        recipients={"internal": _internal(f, Cap.USERS_MANAGE, Cap.JOURNAL_VIEW), "external": [],
                    "processors": _processors_for(f, health=True)},
        security_measures=_measures(f, who="seuls l'administrateur et le référent lisent le journal"),
    )


BUILT_IN: tuple[Callable[[Facts], dict[str, Any]], ...] = (_patient_records, _appointments, _billing, _staff)


def _processor_entry(p: Processor) -> dict[str, Any]:
    return {
        "name": p.name,
        "service": p.get_service_display(),
        "purpose": p.purpose,
        "data_seen": p.get_data_seen_display(),
        "health_data": p.health_data,
        "location": p.location,
        "in_eu": p.in_eu,
        "transfer_safeguards": p.transfer_safeguards,
        "hds_number": p.hds_number,
        "hds_expires_on": p.hds_expires_on.isoformat() if p.hds_expires_on else None,
        "contract": bool(p.has_contract),
        "contract_signed_on": p.contract_signed_on.isoformat() if p.contract_signed_on else None,
        "backup_destination": p.target.name if p.target_id and p.target else None,
    }


def build(facts: Facts | None = None) -> dict[str, Any]:
    """The register as a dict (the JSON contract of `hygie gdpr register --format json`)."""
    f = facts or gather()
    controller, dpo, missing = _controller(f)
    activities = [builder(f) for builder in BUILT_IN]
    for extra in _EXTRA_ACTIVITIES:
        built = extra(f)
        if built is not None:
            activities.append(built)
    processors = [_processor_entry(p) for p in f.processors]
    warnings = [w for p in f.processors for w in gdpr.processor_warnings(p.facts(), f.today)]
    register = {
        "controller": controller,
        "dpo": dpo,
        "dpo_required": gdpr.dpo_required(f.profile.practice_type if f.profile else ""),
        "aipd": _aipd(f),
        "activities": activities,
        "processors": processors,
        "warnings": warnings,
        "missing": missing,
        "software": SOFTWARE,
        "generated_on": f.today.isoformat(),
    }
    _carry_dates(register, latest_version())
    return register


def _comparable(register: dict[str, Any]) -> dict[str, Any]:
    """What decides whether a register is a new version: everything but the generation date."""
    out = dict(register)
    out.pop("generated_on", None)
    out.pop("version", None)
    out["activities"] = [{k: v for k, v in a.items() if k != "updated_on"} for a in register["activities"]]
    return out


def _carry_dates(register: dict[str, Any], previous: RegisterVersion | None) -> None:
    """An activity's "updated_on" is the day its content last changed: kept from the previous
    version when the activity is the same; "created_on" the day the practice started with Hygie."""
    before = {a.get("key"): a for a in (previous.content.get("activities", []) if previous else [])}
    for activity in register["activities"]:
        old = before.get(activity.get("key"))
        if old is not None and _comparable({"activities": [old]}) == _comparable({"activities": [activity]}):
            activity["updated_on"] = old.get("updated_on", activity["updated_on"])


def latest_version() -> RegisterVersion | None:
    return RegisterVersion.objects.order_by("-created_at", "-id").first()


@transaction.atomic
def generate(*, actor: Any = None, actor_role: str | None = None, fmt: str = "json",
             today: date | None = None) -> dict[str, Any]:
    """Build the register, keep it as a new version when it changed, journal its fingerprint.
    Remote backup destinations not yet in the processors register are added first (to complete)."""
    from hygie.compliance import processors

    processors.sync_backup_targets()
    register = build(gather(today))
    previous = latest_version()
    sha = gdpr.fingerprint(_comparable(register))
    new = previous is None or previous.sha256 != sha
    if new:
        previous = RegisterVersion.objects.create(sha256=sha, content=register,
                                                  created_by=actor if getattr(actor, "pk", None) else None)
    assert previous is not None
    register["version"] = {"id": str(previous.public_id), "sha256": sha,
                           "since": timezone.localtime(previous.created_at).isoformat()}
    journal.record(Ev.COMPLIANCE_REGISTER_GENERATED, actor=actor, target=previous, actor_role=actor_role,
                   details={"sha256": sha, "new_version": new, "format": fmt, "missing": len(register["missing"])})
    return register


def csv_bytes(register: dict[str, Any]) -> bytes:
    c = register["controller"]
    header = [
        ("Responsable du traitement", c["name"]),
        ("Adresse", c["address"] or "À COMPLÉTER"),
        ("Contact protection des données", c["contact"]),
        ("DPO", register["dpo"] or "non désigné"),
        ("Registre généré le", register["generated_on"]),
    ]
    if register["missing"]:
        header.append(("À compléter", register["missing"]))
    return gdpr.register_csv([flat(a) for a in register["activities"]], header)


def recipients_text(recipients: dict[str, Any]) -> list[str]:
    internal = ", ".join(f"{r['role']} ({r['count']})" for r in recipients.get("internal", []))
    lines = [f"Internes : {internal or 'aucun'}"]
    if recipients.get("external"):
        lines.append("Organismes externes : " + ", ".join(recipients["external"]))
    lines.append("Sous-traitants : " + (", ".join(recipients.get("processors", [])) or "aucun"))
    return lines


def flat(activity: dict[str, Any]) -> dict[str, Any]:
    """The activity with its nested fields as French lines (CSV, PDF)."""
    out = dict(activity)
    out["data_categories"] = [f"{c['label']} : {c['details']}" + (" (sensible)" if c["sensitive"] else "")
                              for c in activity["data_categories"]]
    out["retention"] = [f"{r['category']} : {r['duration']} ({r['source']})" for r in activity["retention"]]
    out["recipients"] = recipients_text(activity["recipients"])
    return out
