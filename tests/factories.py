"""Test data. Personas follow healthchecks: one per role, set up once per test."""

from __future__ import annotations

import base64
import secrets
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from allauth.mfa.totp.internal.auth import TOTP
from django.utils import timezone

from hygie.access.policy import Role
from hygie.accounts.models import Replacement, User
from hygie.agenda.models import Appointment
from hygie.billing.models import CareSheet
from hygie.patients.identity import identity_fingerprint
from hygie.patients.models import CareTeamMember, Consultation, ConsultationRevision, Patient

PASSWORD = "Tr3s-Solide!Mot2passe"


def make_user(username: str, role: str, *, mfa: bool = True, **extra: Any) -> User:
    user = User(username=username, role=role, first_name=extra.pop("first_name", username.capitalize()),
                last_name=extra.pop("last_name", "Test"), **extra)
    user.set_password(PASSWORD)
    user.save()
    if mfa:
        enrol_totp(user)
    return user


def enrol_totp(user: User, secret: str | None = None) -> str:
    secret = secret or base64.b32encode(secrets.token_bytes(20)).decode()
    TOTP.activate(user, secret)
    return secret


def make_patient(practitioner: User | None, **extra: Any) -> Patient:
    fields = {
        "birth_name": "Martin",
        "first_names": "Claire",
        "birth_date": date(1980, 5, 17),
        "sex": "F",
    }
    fields.update(extra)
    patient = Patient(**fields)
    patient.identity_fingerprint = identity_fingerprint(
        patient.birth_name, patient.first_names, patient.birth_date
    )
    patient.save()
    if practitioner is not None:
        CareTeamMember.objects.create(patient=patient, practitioner=practitioner)
    return patient


def make_consultation(patient: Patient, practitioner: User, **extra: Any) -> Consultation:
    """A consultation and its first version, as hygie.patients.actions writes them."""
    consultation = Consultation.objects.create(
        patient=patient, practitioner=practitioner, date=extra.pop("date", timezone.now()),
        motif=extra.pop("motif", "Contrôle"), observations=extra.pop("observations", "RAS"), **extra
    )
    ConsultationRevision.objects.create(
        consultation=consultation, patient=patient, author=practitioner, date=consultation.date,
        motif=consultation.motif, observations=consultation.observations,
    )
    return consultation


def make_appointment(patient: Patient, practitioner: User, **extra: Any) -> Appointment:
    return Appointment.objects.create(
        patient=patient, practitioner=practitioner,
        start=extra.pop("start", timezone.now() + timedelta(hours=2)), reason=extra.pop("reason", "Suivi"), **extra
    )


def make_care_sheet(patient: Patient, practitioner: User, **extra: Any) -> CareSheet:
    return CareSheet.objects.create(
        patient=patient, practitioner=practitioner, date=extra.pop("date", date.today()),
        acts=extra.pop("acts", "G"), amount=extra.pop("amount", Decimal("30.00")), **extra
    )


def make_replacement(remplacant: User, titulaire: User, *, active: bool = True) -> Replacement:
    now = timezone.now()
    if active:
        starts, ends = now - timedelta(days=1), now + timedelta(days=6)
    else:
        starts, ends = now - timedelta(days=30), now - timedelta(days=20)
    return Replacement.objects.create(remplacant=remplacant, titulaire=titulaire, starts_at=starts, ends_at=ends)


class Personas:
    """alice and bob: titulaires sharing the practice; remi replaces alice; sophie (secretary)
    and fabien (billing) work for alice; regine is the referent; adam the administrator."""

    def __init__(self) -> None:
        self.alice = make_user("alice", Role.TITULAIRE, last_name="Durand")
        self.bob = make_user("bob", Role.TITULAIRE, last_name="Lefèvre")
        self.remi = make_user("remi", Role.REMPLACANT)
        make_replacement(self.remi, self.alice)
        self.sophie = make_user("sophie", Role.SECRETAIRE)
        self.sophie.assists.add(self.alice)
        self.fabien = make_user("fabien", Role.FACTURATION)
        self.fabien.assists.add(self.alice)
        self.regine = make_user("regine", Role.REFERENT)
        self.adam = make_user("adam", Role.ADMIN)
        self.alice_patient = make_patient(self.alice, birth_name="Moreau", first_names="Jeanne")
        self.bob_patient = make_patient(self.bob, birth_name="Bernard", first_names="Louis")

    def all(self) -> dict[str, User]:
        return {n: getattr(self, n) for n in ("alice", "bob", "remi", "sophie", "fabien", "regine", "adam")}


def patients_named(birth_name: str) -> list[Patient]:
    """Names are encrypted at rest: no SQL filter on them; decrypt and compare here."""
    return [p for p in Patient.objects.all() if p.birth_name == birth_name]


def patient_named(birth_name: str) -> Patient:
    (patient,) = patients_named(birth_name)
    return patient
