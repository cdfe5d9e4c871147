"""The demonstration practice: fictitious people, one account per role, known logins.

Everything is synthetic and reproducible (seeded random). The accounts have a published
password and a TOTP secret printed by `hygie demo`: a demo data dir must never hold real
patients, which is why `hygie demo` refuses a data dir with a real practice.
"""

from __future__ import annotations

import base64
import io
import random
import secrets
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.db import transaction
from django.utils import timezone

from hygie.access.policy import Role
from hygie.accounts.actions import apply_replacement, create_user
from hygie.accounts.models import User
from hygie.agenda.models import Appointment
from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.billing.models import CareSheet
from hygie.compliance import demo as compliance_demo
from hygie.core.actions import CLI_ROLE, create_practice
from hygie.lib.text import fold
from hygie.patients import documents
from hygie.patients.actions import DuplicatePatient, create_patient
from hygie.patients.models import CareTeamMember, Consultation, ConsultationRevision, Document, DocumentKind
from hygie.practices.models import Practice

PRACTICE_NAME = "Maison de santé des Tilleuls (démo)"
# Meets the CNIL rule (12+ characters, four classes); public by design, like the data.
PASSWORD = "Demo-Brume-Falaise-26!"  # noqa: S105 (demo only; no "Hygie": the rule refuses context words)
SEED = 2026


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    first_name: str
    last_name: str
    profession: str = ""


ACCOUNTS = (
    Account("dr.martin", Role.TITULAIRE, "Claire", "Martin", "Médecin généraliste"),
    Account("kine.nguyen", Role.TITULAIRE, "Linh", "Nguyen", "Masseur-kinésithérapeute"),
    Account("dr.roux", Role.REMPLACANT, "Hugo", "Roux", "Médecin généraliste"),
    Account("accueil.petit", Role.SECRETAIRE, "Amandine", "Petit"),
    Account("compta.leroy", Role.FACTURATION, "Julien", "Leroy"),
    Account("rgpd.garnier", Role.REFERENT, "Sylvie", "Garnier"),
    Account("admin.fabre", Role.ADMIN, "Thomas", "Fabre"),
)


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    role: str
    totp_secret: str

    def current_code(self) -> str:
        return format_hotp_value(hotp_value(self.totp_secret, int(time.time()) // 30))


class RealPracticeError(Exception):
    """The data dir holds a real practice: the demo must not mix with it."""


def logins() -> list[Login]:
    """The demo accounts with their TOTP secrets, read back from the database."""
    users = {u.username: u for u in User.objects.filter(username__in=[a.username for a in ACCOUNTS])}
    found = []
    for account in ACCOUNTS:
        user = users.get(account.username)
        if user is None:
            continue
        totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
        secret = decrypt(totp.data["secret"]) if totp else ""
        found.append(Login(user.username, PASSWORD, user.role, secret))
    return found


def ensure_demo(patients: int = 40) -> bool:
    """Create the demo practice unless it exists. Returns True if it was created now."""
    practice = Practice.current()
    if practice is not None:
        if not practice.is_demo:
            raise RealPracticeError(practice.name)
        return False
    stored: list[str] = []
    try:
        _create(patients, stored)
    except BaseException:
        # The rows rolled back; the blobs written on the way must go too.
        for name in stored:
            documents.delete_blob(name)
        raise
    return True


@transaction.atomic
def _create(n_patients: int, stored: list[str]) -> None:
    rng = random.Random(SEED)
    admin_spec = ACCOUNTS[-1]
    _, admin = create_practice(
        name=PRACTICE_NAME,
        admin_username=admin_spec.username,
        admin_password=PASSWORD,
        admin_first_name=admin_spec.first_name,
        admin_last_name=admin_spec.last_name,
        is_demo=True,
    )
    users = {admin.username: admin}
    for spec in ACCOUNTS[:-1]:
        users[spec.username] = create_user(
            actor=None,
            username=spec.username,
            role=spec.role,
            password=PASSWORD,
            first_name=spec.first_name,
            last_name=spec.last_name,
            email=f"{spec.username}@example.org",
            profession=spec.profession,
            must_change_password=False,
        )
    martin, nguyen = users["dr.martin"], users["kine.nguyen"]
    for assistant in ("accueil.petit", "compta.leroy"):
        users[assistant].assists.set([martin, nguyen])
    now = timezone.now()
    apply_replacement(
        actor=None,
        remplacant=users["dr.roux"],
        titulaire=martin,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=30),
    )
    for user in users.values():
        # Random secrets, kept: a second run prints the same ones.
        TOTP.activate(user, base64.b32encode(secrets.token_bytes(20)).decode())
        journal.record(Ev.MFA_ENROLLED, target=user, details={"type": "totp"}, actor_role=CLI_ROLE)

    today = timezone.localdate()
    compliance_demo.fill(today=today, pdf=tiny_pdf, actor_role=CLI_ROLE)
    for i in range(n_patients):
        practitioner = martin if i % 2 == 0 else nguyen
        kine = practitioner is nguyen
        patient = None
        while patient is None:
            try:
                patient = create_patient(actor=None, practitioner=practitioner, data=_identity(rng, today))
            except DuplicatePatient:
                continue  # the same random identity twice in one patientèle: draw another
        _medical_content(rng, patient, practitioner, kine, now, stored)
    _agenda(rng, [martin, nguyen], now)


# --- Synthetic people --------------------------------------------------------------------

LAST_NAMES = (
    "Lefèvre", "Bérenger", "Rivière", "Lemaître", "Fournier", "Girard", "Bonnet", "Dupré", "Lambert",
    "Fontaine", "Rousseau", "Vincent", "Mercier", "Guérin", "Boyer", "Chevalier", "François", "Gauthier",
    "Perrin", "Clément", "Morin", "Noël", "Marchand", "Duval", "Ménard", "Lucas", "Brunet", "Barbier",
    "Hénault", "Pâris", "Thébault", "Lefèbvre-Caron", "Da Silva", "Benoît", "Lacroix", "Aubert",
)  # fmt: skip
FEMALE_NAMES = (
    "Léa", "Chloé", "Inès", "Zoé", "Élise", "Hélène", "Océane", "Maëlle", "Anaïs", "Noémie", "Cécile",
    "Aurélie", "Geneviève", "Françoise", "Thérèse", "Agnès", "Joséphine", "Camille", "Manon", "Margaux",
)  # fmt: skip
MALE_NAMES = (
    "Théo", "Noé", "Raphaël", "Gaël", "Loïc", "Jérôme", "Frédéric", "Stéphane", "Benoît", "Hervé", "René",
    "André", "Étienne", "Félix", "Lucas", "Hugo", "Mathéo", "Joël", "Gérard", "Régis",
)  # fmt: skip
STREETS = (
    "rue des Tilleuls", "avenue Jean-Jaurès", "place de l'Église", "rue Victor-Hugo", "chemin des Vignes",
    "boulevard Gambetta", "rue du Moulin", "allée des Peupliers", "impasse des Rosiers", "rue Pasteur",
)  # fmt: skip
TOWNS = (("69003", "Lyon"), ("69100", "Villeurbanne"), ("69500", "Bron"), ("69200", "Vénissieux"))
HISTORIES = (
    "HTA traitée depuis 2015. Allergie à la pénicilline.",
    "Diabète de type 2 sous metformine. Appendicectomie dans l'enfance.",
    "Asthme léger, Ventoline à la demande.",
    "Aucun antécédent notable.",
    "Hypothyroïdie substituée. Tabagisme sevré en 2019.",
    "Fracture du poignet droit (2021). Pas d'allergie connue.",
    "Lombalgies récidivantes. Cholécystectomie (2017).",
    "Migraine sans aura. Contraception orale.",
    "Fibrillation atriale sous anticoagulant. Prothèse de hanche gauche (2018).",
    "Vaccinations à jour. Otites à répétition dans la petite enfance.",
)
GP_VISITS = (
    ("Renouvellement d'ordonnance", "TA 13/8, FC 72. Examen sans particularité. Traitement renouvelé pour 3 mois."),
    ("Syndrome grippal", "Fièvre à 38,6 °C depuis 48 h, courbatures. Repos, paracétamol, arrêt de 3 jours."),
    ("Lombalgie aiguë", "Douleur lombaire basse après port de charge, pas de signe neurologique. AINS 5 jours."),
    ("Suivi HTA", "TA 14/9 au cabinet, automesure demandée. Bilan biologique prescrit."),
    ("Certificat de sport", "Examen cardio-pulmonaire normal. Certificat de non-contre-indication remis."),
    ("Angine", "Test de diagnostic rapide positif. Amoxicilline 6 jours."),
    ("Vaccination", "Rappel dTP réalisé, bras gauche. Pas de réaction immédiate."),
    ("Bilan annuel", "Poids stable, examen normal. Résultats biologiques satisfaisants."),
)
PHYSIO_VISITS = (
    ("Rééducation genou après ligamentoplastie", "Flexion 110°, extension complète. Renforcement quadriceps."),
    ("Lombalgie chronique", "Mobilisations, étirements des ischio-jambiers, exercices à domicile expliqués."),
    ("Entorse de cheville", "Œdème en régression. Travail proprioceptif sur plateau."),
    ("Cervicalgie", "Massage décontracturant, mobilisations douces. Conseils de poste de travail."),
    ("Rééducation de l'épaule", "Élévation antérieure 140°. Renforcement de la coiffe des rotateurs."),
    ("Kinésithérapie respiratoire", "Désencombrement bronchique, bonne tolérance."),
)
DOCUMENT_TITLES = (
    ("Compte rendu de radiographie", DocumentKind.REPORT),
    ("Résultats du bilan sanguin", DocumentKind.RESULT),
    ("Courrier du cardiologue", DocumentKind.LETTER),
    ("Ordonnance", DocumentKind.PRESCRIPTION),
    ("Prescription de kinésithérapie", DocumentKind.PRESCRIPTION),
)
APPOINTMENT_REASONS = ("Suivi", "Première consultation", "Contrôle", "Séance", "Renouvellement")


def _identity(rng: random.Random, today: date) -> dict[str, object]:
    sex = rng.choice("FM")
    first = rng.choice(FEMALE_NAMES if sex == "F" else MALE_NAMES)
    last = rng.choice(LAST_NAMES)
    band = rng.random()
    # About one in five a minor, one in four aged 75 or more.
    age = rng.randint(1, 17) if band < 0.2 else rng.randint(75, 96) if band < 0.45 else rng.randint(18, 74)
    birth = today - timedelta(days=age * 365 + rng.randint(0, 364))
    data: dict[str, object] = {
        "birth_name": last,
        "first_names": first if rng.random() < 0.7 else f"{first} {rng.choice(FEMALE_NAMES + MALE_NAMES)}",
        "birth_date": birth,
        "sex": sex,
        "history": rng.choice(HISTORIES),
    }
    if sex == "F" and age > 30 and rng.random() < 0.3:
        data["usage_name"] = rng.choice(LAST_NAMES)
    if rng.random() < 0.6:
        data["ins"] = _nir(rng, sex, birth)
    if rng.random() < 0.8:
        data["phone"] = "0" + rng.choice("67") + "".join(f" {rng.randint(0, 99):02d}" for _ in range(4))
    if age >= 16 and rng.random() < 0.6:
        data["email"] = f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 99)}@example.org"
    if rng.random() < 0.8:
        code, town = rng.choice(TOWNS)
        data["address"] = f"{rng.randint(1, 120)} {rng.choice(STREETS)}\n{code} {town}"
    return data


def _ascii(name: str) -> str:
    return fold(name).replace(" ", "-")


def _nir(rng: random.Random, sex: str, birth: date) -> str:
    """A well-formed but fictitious NIR (département 69, valid key)."""
    body = f"{1 if sex == 'M' else 2}{birth:%y%m}69{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
    return f"{body}{97 - int(body) % 97:02d}"


# --- Records, agenda, billing --------------------------------------------------------------


def _medical_content(
    rng: random.Random, patient, practitioner: User, kine: bool, now: datetime, stored: list[str]
) -> None:
    visits = PHYSIO_VISITS if kine else GP_VISITS
    for _ in range(rng.randint(1, 5)):
        when = (now - timedelta(days=rng.randint(1, 3 * 365))).replace(
            hour=rng.randint(8, 18), minute=rng.choice((0, 20, 40)), second=0, microsecond=0
        )
        motif, observations = rng.choice(visits)
        consultation = Consultation.objects.create(
            patient=patient, practitioner=practitioner, date=when, motif=motif, observations=observations
        )
        ConsultationRevision.objects.create(
            consultation=consultation, patient=patient, author=practitioner, created_at=when, date=when,
            motif=motif, observations=observations,
        )
        recent = (now - when).days < 60
        CareSheet.objects.create(
            patient=patient,
            practitioner=practitioner,
            date=timezone.localdate(when),
            acts="AMK 8" if kine else "G",
            amount=Decimal("17.20") if kine else Decimal("30.00"),
            # Some recent sheets are still waiting for payment.
            paid=rng.random() < (0.4 if recent else 0.95),
        )
    for _ in range(rng.randint(0, 2)):
        title, kind = rng.choice(DOCUMENT_TITLES)
        blob = documents.save_stream(io.BytesIO(tiny_pdf(title)), patient=patient)
        stored.append(blob.storage_name)
        Document.objects.create(
            patient=patient,
            uploaded_by=practitioner,
            title=title,
            kind=kind,
            content_type=blob.content_type,
            size=blob.size,
            sha256=blob.sha256,
            storage_name=blob.storage_name,
        )


def _agenda(rng: random.Random, practitioners: list[User], now: datetime) -> None:
    local = timezone.localtime(now)
    for practitioner in practitioners:
        patient_ids = list(
            CareTeamMember.objects.filter(practitioner=practitioner).values_list("patient_id", flat=True)
        )
        if not patient_ids:
            continue
        slots = []
        # Today, morning and afternoon: some past, some to come, whatever the hour of the demo.
        for hour, minute in ((9, 0), (9, 40), (11, 0), (14, 20), (16, 0), (17, 20)):
            slots.append(local.replace(hour=hour, minute=minute, second=0, microsecond=0))
        for day in range(1, 15):
            when = local + timedelta(days=day)
            if when.weekday() >= 5:
                continue
            for _ in range(rng.randint(1, 3)):
                slots.append(
                    when.replace(hour=rng.randint(8, 18), minute=rng.choice((0, 20, 40)), second=0, microsecond=0)
                )
        for start in slots:
            Appointment.objects.create(
                patient_id=rng.choice(patient_ids),
                practitioner=practitioner,
                start=start,
                duration_minutes=30 if practitioner.profession.startswith("Masseur") else 20,
                reason=rng.choice(APPOINTMENT_REASONS),
            )


def tiny_pdf(title: str) -> bytes:
    """A one-page PDF with `title` on it, valid enough for any reader (offsets computed)."""
    text = fold(title).upper().replace("(", "").replace(")", "").replace("\\", "")
    stream = f"BT /F1 18 Tf 72 720 Td (HYGIE DEMO - {text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
