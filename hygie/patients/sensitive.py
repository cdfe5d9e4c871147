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


# A consultation's fields, and those of each earlier version a revision keeps.
_CONSULTATION: dict[str, Kind] = {
    "motif": Kind.MEDICAL,
    "observations": Kind.MEDICAL,
    "examination": Kind.MEDICAL,
    "conclusion": Kind.MEDICAL,
    "plan": Kind.MEDICAL,
    "weight_kg": Kind.MEDICAL,
    "height_cm": Kind.MEDICAL,
    "systolic": Kind.MEDICAL,
    "diastolic": Kind.MEDICAL,
    "pulse": Kind.MEDICAL,
    "temperature": Kind.MEDICAL,
}

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
        # Records migrated from older software: the last consultation it knew (RET-1).
        "declared_last_visit": Kind.MEDICAL,
        "history": Kind.MEDICAL,
    },
    "patients.Consultation": _CONSULTATION,
    "patients.ConsultationRevision": _CONSULTATION,
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
    "retention.LegalHold": {
        "reason": Kind.MEDICAL,
    },
    "retention.ArchiveAccess": {
        "reason": Kind.MEDICAL,
    },
    "retention.RetentionState": {},
    "clinical.RecordItem": {
        "label": Kind.MEDICAL,
        "detail": Kind.MEDICAL,
    },
    "clinical.ConsultationDraft": {
        "content": Kind.MEDICAL,
    },
    "retention.PurgeNotice": {},
    "rights.RightsRequest": {
        "requester_name": Kind.PERSONAL,
        "identity_seen": Kind.PERSONAL,
        "quality_seen": Kind.PERSONAL,
        "answer_note": Kind.MEDICAL,
    },
    "rights.RecordRestriction": {},
    # Who received or sent a patient's documents tells who cares for the patient.
    "exchange.Exchange": {
        "correspondent": Kind.MEDICAL,
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
    # Hold periods count days in SQL; the state and notice hold the dates lists filter on and the
    # rule's tag (RET-1…4), never a value of the record (hygie.retention.models).
    "retention.LegalHold": {"started_on", "ended_on", "lifted_at"},
    "retention.ArchiveAccess": {"expires_at"},
    "retention.RetentionState": {"last_intervention", "expires_on", "rule", "computed_at"},
    "retention.PurgeNotice": {"expires_on", "rule", "notified_at", "purge_after"},
    # The register proves the answer without naming anyone: the pseudonymous code, the right,
    # choices, the dates and the rule (hygie.rights.models).
    "rights.RightsRequest": {
        "patient_code", "right", "received_at", "channel", "requester", "heir_ground", "identity_document",
        "old_information", "earliest_at", "due_on", "rule", "extended_on", "status", "answered_on",
        "refusal_ground", "kept_until",
    },
    "rights.RecordRestriction": {"kind", "processing", "lifted_at"},
    # Counts, sizes, the direction, a random outbox file name, a time (hygie.exchange.models).
    "exchange.Exchange": {
        "direction", "documents", "consultations", "summary", "size", "outbox_name", "downloaded_at",
    },
    # Whether a line is an allergy, a treatment or an alert, and when it was stopped: the record
    # lists the current ones in SQL; what they say is encrypted.
    "clinical.RecordItem": {"kind", "ended_at"},
    "clinical.ConsultationDraft": set(),
}

# The document files themselves are medical content too.
SENSITIVE_FILES = {"patients.Document": Kind.MEDICAL}
