"""The one declaration of which fields hold personal or medical data.

The encryption layer encrypts exactly these fields; the leak tests look for them; a test
fails if a model of a patient app gains a text or date field that is not listed here,
either as sensitive or as knowingly not (`NOT_SENSITIVE`).
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    PERSONAL = "personal"  # identifies or contacts the patient
    MEDICAL = "medical"  # health data (RGPD art. 9)
    FINANCIAL = "financial"  # billing details


SENSITIVE_FIELDS: dict[str, dict[str, Kind]] = {
    "patients.Patient": {
        "birth_name": Kind.PERSONAL,
        "usage_name": Kind.PERSONAL,
        "first_names": Kind.PERSONAL,
        "birth_date": Kind.PERSONAL,
        "sex": Kind.PERSONAL,
        "ins": Kind.PERSONAL,
        "phone": Kind.PERSONAL,
        "email": Kind.PERSONAL,
        "address": Kind.PERSONAL,
        "death_date": Kind.MEDICAL,
        "history": Kind.MEDICAL,
    },
    "patients.Consultation": {
        "motif": Kind.MEDICAL,
        "observations": Kind.MEDICAL,
    },
    "patients.ConsultationRevision": {
        "motif": Kind.MEDICAL,
        "observations": Kind.MEDICAL,
    },
    "patients.HistoryRevision": {
        "text": Kind.MEDICAL,
    },
    "patients.Document": {
        "title": Kind.MEDICAL,
    },
    "patients.BreakGlassAccess": {
        "reason": Kind.MEDICAL,
    },
    "agenda.Appointment": {
        "reason": Kind.MEDICAL,
    },
    "billing.CareSheet": {
        "acts": Kind.FINANCIAL,
        "amount": Kind.FINANCIAL,
    },
}

# Fields of those models that are knowingly stored as they are, and why.
NOT_SENSITIVE: dict[str, set[str]] = {
    # Pseudonymous code; keyed HMAC; dates the database must sort and filter on.
    "patients.Patient": {"code", "identity_fingerprint"},
    "patients.Document": {"kind", "content_type", "size", "sha256", "storage_name"},
    "patients.Consultation": {"date"},
    "patients.ConsultationRevision": {"date"},
    "patients.BreakGlassAccess": {"expires_at", "reviewed_at"},
    "agenda.Appointment": {"start", "duration_minutes"},
    "billing.CareSheet": {"date", "paid"},
}

# The document files themselves are medical content too.
SENSITIVE_FILES = {"patients.Document": Kind.MEDICAL}
