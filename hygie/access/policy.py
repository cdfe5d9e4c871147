"""Roles, capabilities and the matrix between them. Read this file to know who may do what.

Two questions decide every access:
1. *Scope*: is the patient within the user's reach at all? (hygie.access.records.patient_scope)
   Outside the scope the answer is 404, so a user learns nothing of other patientèles.
2. *Capability*: may the user's role do this kind of thing? (`ROLE_CAPABILITIES` below)
   Within the scope but without the capability the answer is 403.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    TITULAIRE = "titulaire", _("Praticien titulaire")
    REMPLACANT = "remplacant", _("Remplaçant")
    SECRETAIRE = "secretaire", _("Secrétaire")
    FACTURATION = "facturation", _("Facturation")
    REFERENT = "referent", _("Référent sécurité et RGPD")
    ADMIN = "admin", _("Administrateur technique")


class Cap(StrEnum):
    # Patient identity: names, birth date, contact details.
    PATIENT_LIST = "patient:list"
    PATIENT_IDENTITY_VIEW = "patient:identity:view"
    PATIENT_IDENTITY_EDIT = "patient:identity:edit"
    PATIENT_CREATE = "patient:create"
    PATIENT_IMPORT = "patient:import"
    PATIENT_ERASE = "patient:erase"
    CARE_TEAM_EDIT = "patient:careteam:edit"
    # Medical content: consultations, antécédents, documents.
    MEDICAL_VIEW = "patient:medical:view"
    MEDICAL_EDIT = "patient:medical:edit"
    BREAK_GLASS = "patient:breakglass"
    # Reading the reasons typed for break-the-glass accesses (free text, possibly clinical) and
    # reviewing those accesses. Besides this role, a patient's own titulaires read the reasons
    # of accesses to their patient (hygie.access.records.reads_break_glass_reasons).
    BREAK_GLASS_REVIEW = "patient:breakglass:review"
    # Agenda.
    AGENDA_VIEW = "agenda:view"
    AGENDA_EDIT = "agenda:edit"
    # Billing, under a pseudonymous patient code for the billing clerk.
    BILLING_VIEW = "billing:view"
    BILLING_EDIT = "billing:edit"
    BILLING_SEES_NAMES = "billing:names"
    # Administration.
    USERS_MANAGE = "users:manage"
    JOURNAL_VIEW = "journal:view"
    # Encryption keys: the printable recovery kit.
    KEYS_MANAGE = "keys:manage"
    # Backups: destinations, run now, restore tests.
    BACKUPS_MANAGE = "backups:manage"
    # Approve or refuse a request that would open a titulaire's medical data (hygie.approvals):
    # the titulaire concerned, or the referent after a delay. Which requests: hygie.access.records.
    GRANTS_DECIDE = "grants:decide"
    # The security checklist: everyone reads it; the administrator and the referent declare.
    CHECKLIST_VIEW = "checklist:view"
    CHECKLIST_EDIT = "checklist:edit"
    # Retention (docs/retention.md): legal holds, archive search, "À détruire" and its approval.
    RETENTION_MANAGE = "retention:manage"
    # The "Conservation" page in counts only (how many records expire when, holds, last purge).
    RETENTION_COUNTS = "retention:counts"
    # Incidents (docs/incidents.md): press « Isoler Hygie », keep the register and its 72-hour
    # clock, prepare the CNIL notification, the fiche réflexe, the evidence, exercises.
    INCIDENT_MANAGE = "incident:manage"
    # Lift the isolation from the web (re-authenticated, a second admin or referent confirming).
    INCIDENT_LIFT = "incident:lift"
    # Patients' rights (docs/rights.md): record a request (titulaire, secretary); answer it
    # (exports, rectification, erasure decision, restriction: the titulaire); watch the
    # deadlines in codes only (titulaire, referent).
    RIGHTS_RECORD = "rights:record"
    RIGHTS_ANSWER = "rights:answer"
    RIGHTS_WATCH = "rights:watch"
    # Proof of compliance (docs/compliance.md): the practice profile, the GDPR register, the
    # processors and their contracts, the notices, the « contrôle CNIL » pack. No patient data.
    COMPLIANCE_MANAGE = "compliance:manage"
    # Secure exchange (docs/exchange.md): send medical content out (encrypted archive, MSSanté
    # message), file received documents, vouch for an MSSanté address outside mssante.fr,
    # configure the practice's MSSanté account (no patient data).
    EXCHANGE_SEND = "exchange:send"
    EXCHANGE_RECEIVE = "exchange:receive"
    EXCHANGE_RECIPIENTS = "exchange:recipients"
    EXCHANGE_CONFIGURE = "exchange:configure"


_PRACTITIONER = frozenset(
    {
        Cap.PATIENT_LIST,
        Cap.PATIENT_IDENTITY_VIEW,
        Cap.PATIENT_IDENTITY_EDIT,
        Cap.PATIENT_CREATE,
        Cap.MEDICAL_VIEW,
        Cap.MEDICAL_EDIT,
        Cap.AGENDA_VIEW,
        Cap.AGENDA_EDIT,
        Cap.BILLING_VIEW,
        Cap.BILLING_EDIT,
        Cap.BILLING_SEES_NAMES,
        Cap.EXCHANGE_SEND,
        Cap.EXCHANGE_RECEIVE,
    }
)

ROLE_CAPABILITIES: dict[str, frozenset[Cap]] = {
    Role.TITULAIRE: _PRACTITIONER
    | {
        Cap.PATIENT_IMPORT,
        Cap.PATIENT_ERASE,
        Cap.CARE_TEAM_EDIT,
        Cap.BREAK_GLASS,
        Cap.GRANTS_DECIDE,
        Cap.CHECKLIST_VIEW,
        Cap.RETENTION_MANAGE,
        Cap.RETENTION_COUNTS,
        Cap.INCIDENT_MANAGE,
        Cap.RIGHTS_RECORD,
        Cap.RIGHTS_ANSWER,
        Cap.RIGHTS_WATCH,
        Cap.EXCHANGE_RECIPIENTS,
    },
    # A locum works on the replaced practitioner's patients, during the replacement only
    # (the scope says when); erasing records or reshaping care teams stays with the titulaire.
    Role.REMPLACANT: _PRACTITIONER | {Cap.CHECKLIST_VIEW},
    Role.SECRETAIRE: frozenset(
        {
            Cap.PATIENT_LIST,
            Cap.PATIENT_IDENTITY_VIEW,
            Cap.PATIENT_IDENTITY_EDIT,
            Cap.PATIENT_CREATE,
            Cap.AGENDA_VIEW,
            Cap.AGENDA_EDIT,
            Cap.CHECKLIST_VIEW,
            Cap.RIGHTS_RECORD,
        }
    ),
    Role.FACTURATION: frozenset({Cap.BILLING_VIEW, Cap.BILLING_EDIT, Cap.CHECKLIST_VIEW}),
    Role.REFERENT: frozenset(
        {
            Cap.JOURNAL_VIEW,
            Cap.KEYS_MANAGE,
            Cap.GRANTS_DECIDE,
            Cap.BREAK_GLASS_REVIEW,
            Cap.CHECKLIST_VIEW,
            Cap.CHECKLIST_EDIT,
            Cap.RETENTION_COUNTS,
            Cap.INCIDENT_MANAGE,
            Cap.RIGHTS_WATCH,
            Cap.COMPLIANCE_MANAGE,
        }
    ),
    Role.ADMIN: frozenset(
        {
            Cap.USERS_MANAGE,
            Cap.JOURNAL_VIEW,
            Cap.KEYS_MANAGE,
            Cap.BACKUPS_MANAGE,
            Cap.CHECKLIST_VIEW,
            Cap.CHECKLIST_EDIT,
            Cap.INCIDENT_MANAGE,
            Cap.INCIDENT_LIFT,
            Cap.COMPLIANCE_MANAGE,
            Cap.EXCHANGE_CONFIGURE,
        }
    ),
}

# Roles whose scope is a set of practitioners' patientèles, and how it is reached.
PRACTITIONER_ROLES = frozenset({Role.TITULAIRE, Role.REMPLACANT})
ASSISTANT_ROLES = frozenset({Role.SECRETAIRE, Role.FACTURATION})


def capabilities(role: str) -> frozenset[Cap]:
    return ROLE_CAPABILITIES.get(role, frozenset())


def role_can(role: str, cap: Cap) -> bool:
    return cap in capabilities(role)
