"""Every URL × every role × own / other practitioner's patient, against the rules of
docs/permissions.md. The expected answer is computed here from the written rules, not from
the access module, so that a change to either one shows up.

- outside the user's reach: 404 (nothing is revealed);
- within reach but the role lacks the capability: 403;
- otherwise the page answers (200, or a redirect that is not to the login page).
Pages that are not about one object check the capability first (403).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.urls import get_resolver, reverse
from django.utils import timezone

from hygie.access.policy import Cap, Role
from hygie.accounts import actions as accounts_actions
from hygie.approvals.models import GrantRequest
from hygie.audit.models import Alert, AlertKind
from hygie.backups.models import Target, TargetKind
from hygie.billing import actions as billing_actions
from hygie.checklist import actions as checklist_actions
from hygie.clinical import actions as clinical_actions
from hygie.compliance import actions as compliance_actions
from hygie.exchange import actions as exchange_actions
from hygie.exchange.content import Selection
from hygie.exchange.models import MssanteRecipient
from hygie.incidents.models import Incident
from hygie.patients import actions as patient_actions
from hygie.retention.models import LegalHold
from hygie.rights import actions as rights_actions
from tests.architecture.test_permission_docs import _doc_matrix
from tests.factories import Personas, make_appointment, make_care_sheet, make_consultation

# The written rules: the role x capability table of docs/permissions.md, not the code.
WRITTEN = _doc_matrix()

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# Who reaches alice's patientèle (patients, agenda, billing), written from the rules:
# alice herself, remi who replaces her now, sophie and fabien who work for her.
REACH = {"alice": {"alice", "remi", "sophie", "fabien"}, "bob": {"bob"}}
# Who sees a request that would open the owner's records (docs/permissions.md): the titulaire
# concerned and the referent.
GRANT_REACH = {"alice": {"alice", "regine"}, "bob": {"bob", "regine"}}


@dataclass(frozen=True)
class Page:
    name: str
    obj: str | None  # which object of the owner the URL names, or None
    cap: Cap
    method: str = "GET"
    cap_first: bool = False  # the view checks the role before looking the object up


PAGES = [
    Page("patient_list", None, Cap.PATIENT_LIST),
    Page("patient_search", None, Cap.PATIENT_LIST, "POST"),
    Page("patient_create", None, Cap.PATIENT_CREATE),
    Page("patient_detail", "patient", Cap.PATIENT_IDENTITY_VIEW),
    Page("patient_edit", "patient", Cap.PATIENT_IDENTITY_EDIT),
    Page("history_edit", "patient", Cap.MEDICAL_EDIT),
    Page("consultation_create", "patient", Cap.MEDICAL_EDIT),
    Page("document_upload", "patient", Cap.MEDICAL_EDIT),
    Page("care_team", "patient", Cap.CARE_TEAM_EDIT, "POST"),
    Page("patient_erase", "patient", Cap.PATIENT_ERASE),
    Page("consultation_detail", "consultation", Cap.MEDICAL_VIEW),
    Page("consultation_edit", "consultation", Cap.MEDICAL_EDIT),
    Page("consultation_revisions", "consultation", Cap.MEDICAL_VIEW),
    Page("history_revisions", "patient", Cap.MEDICAL_VIEW),
    Page("document_download", "document", Cap.MEDICAL_VIEW),
    Page("break_glass_search", None, Cap.BREAK_GLASS),
    Page("agenda", None, Cap.AGENDA_VIEW),
    Page("appointment_create", None, Cap.AGENDA_EDIT),
    Page("appointment_edit", "appointment", Cap.AGENDA_EDIT, cap_first=True),
    Page("appointment_cancel", "appointment", Cap.AGENDA_EDIT, "POST", cap_first=True),
    Page("agenda_patient_search", None, Cap.AGENDA_EDIT, "POST"),
    Page("billing", None, Cap.BILLING_VIEW),
    Page("care_sheet_create", None, Cap.BILLING_EDIT),
    Page("care_sheet_edit", "care_sheet", Cap.BILLING_EDIT, cap_first=True),
    Page("care_sheet_toggle_paid", "care_sheet", Cap.BILLING_EDIT, "POST", cap_first=True),
    # The note d'honoraires names the patient: not for the billing clerk.
    Page("care_sheet_receipt", "care_sheet", Cap.BILLING_SEES_NAMES, cap_first=True),
    Page("billing_export", None, Cap.BILLING_VIEW),
    Page("billing_favourites", None, Cap.BILLING_EDIT),
    Page("billing_favourite_remove", "favourite", Cap.BILLING_EDIT, "POST", cap_first=True),
    Page("recovery_kit", None, Cap.KEYS_MANAGE),
    Page("user_list", None, Cap.USERS_MANAGE),
    Page("user_create", None, Cap.USERS_MANAGE),
    Page("user_detail", "user", Cap.USERS_MANAGE),
    Page("user_role", "user", Cap.USERS_MANAGE, "POST"),
    Page("user_assists", "user", Cap.USERS_MANAGE, "POST"),
    Page("user_deactivate", "user", Cap.USERS_MANAGE, "POST"),
    Page("user_reactivate", "user", Cap.USERS_MANAGE, "POST"),
    Page("user_reset_mfa", "user", Cap.USERS_MANAGE, "POST"),
    Page("user_set_password", "user", Cap.USERS_MANAGE, "POST"),
    Page("user_replacement", "user", Cap.USERS_MANAGE, "POST"),
    Page("journal", None, Cap.JOURNAL_VIEW),
    Page("journal_verify", None, Cap.JOURNAL_VIEW, "POST"),
    Page("alert_list", None, Cap.JOURNAL_VIEW),
    Page("alert_acknowledge", "alert", Cap.JOURNAL_VIEW, "POST"),
    Page("patient_access_report", "patient", Cap.MEDICAL_VIEW),
    Page("patient_access_report_pdf", "patient", Cap.MEDICAL_VIEW),
    Page("backups", None, Cap.BACKUPS_MANAGE),
    Page("backup_target_create", None, Cap.BACKUPS_MANAGE),
    Page("backup_target_detail", "backup_target", Cap.BACKUPS_MANAGE),
    Page("backup_target_edit", "backup_target", Cap.BACKUPS_MANAGE),
    Page("backup_target_remove", "backup_target", Cap.BACKUPS_MANAGE, "POST"),
    Page("backup_target_test", "backup_target", Cap.BACKUPS_MANAGE, "POST"),
    Page("backup_request", None, Cap.BACKUPS_MANAGE, "POST"),
    Page("restore_test_request", None, Cap.BACKUPS_MANAGE, "POST"),
    Page("backup_progress", None, Cap.BACKUPS_MANAGE),
    Page("grant_list", None, Cap.GRANTS_DECIDE),
    Page("grant_detail", "grant", Cap.GRANTS_DECIDE, cap_first=True),
    Page("grant_decide", "grant", Cap.GRANTS_DECIDE, "POST", cap_first=True),
    Page("checklist", None, Cap.CHECKLIST_VIEW),
    Page("checklist_poster", None, Cap.CHECKLIST_VIEW),
    Page("checklist_declare", None, Cap.CHECKLIST_EDIT),
    Page("checklist_training", None, Cap.CHECKLIST_EDIT, "POST"),
    Page("checklist_proof", "checklist_proof", Cap.CHECKLIST_EDIT),
    Page("retention", None, Cap.RETENTION_COUNTS),
    Page("retention_due", None, Cap.RETENTION_MANAGE),
    Page("retention_approve", None, Cap.RETENTION_MANAGE, "POST"),
    Page("archive_search", None, Cap.RETENTION_MANAGE),
    Page("archive_open", "patient", Cap.RETENTION_MANAGE),
    Page("hold_create", "patient", Cap.RETENTION_MANAGE),
    Page("hold_lift", "hold", Cap.RETENTION_MANAGE),
    Page("incidents", None, Cap.INCIDENT_MANAGE),
    Page("incident_lockdown", None, Cap.INCIDENT_MANAGE, "POST"),
    Page("incident_lift", None, Cap.INCIDENT_LIFT, "POST"),
    Page("incident_contacts", None, Cap.INCIDENT_MANAGE),
    Page("incident_fiche_pdf", None, Cap.INCIDENT_MANAGE),
    Page("incident_exercise", None, Cap.INCIDENT_MANAGE, "POST"),
    Page("incident_open", None, Cap.INCIDENT_MANAGE, "POST"),
    Page("incident_detail", "incident", Cap.INCIDENT_MANAGE),
    Page("incident_entry", "incident", Cap.INCIDENT_MANAGE, "POST"),
    Page("incident_scope", "incident", Cap.INCIDENT_MANAGE, "POST"),
    Page("incident_decision", "incident", Cap.INCIDENT_MANAGE, "POST"),
    Page("incident_notified", "incident", Cap.INCIDENT_MANAGE, "POST"),
    Page("incident_art34", "incident", Cap.INCIDENT_MANAGE, "POST"),
    Page("incident_close", "incident", Cap.INCIDENT_MANAGE, "POST"),
    Page("incident_step", "incident", Cap.INCIDENT_MANAGE, "POST"),
    Page("incident_drill", "incident", Cap.INCIDENT_MANAGE, "POST"),
    Page("incident_drill_lift", "incident", Cap.INCIDENT_MANAGE, "POST"),
    Page("incident_cnil", "incident", Cap.INCIDENT_MANAGE),
    Page("incident_evidence", "incident", Cap.INCIDENT_MANAGE),
    Page("rights", None, Cap.RIGHTS_RECORD),
    Page("rights_request_create", "patient", Cap.RIGHTS_RECORD),
    Page("rights_request", "rights_request", Cap.RIGHTS_RECORD),
    Page("rights_request_extend", "rights_request", Cap.RIGHTS_ANSWER, "POST"),
    Page("rights_request_answer", "rights_request", Cap.RIGHTS_ANSWER, "POST"),
    Page("rights_request_refuse", "rights_request", Cap.RIGHTS_ANSWER, "POST"),
    # Billing and the secretary never export medical data: 403 within reach, 404 outside.
    Page("rights_export_pdf", "rights_request", Cap.RIGHTS_ANSWER),
    Page("rights_export_fhir", "rights_request", Cap.RIGHTS_ANSWER),
    Page("rights_export_7z", "rights_request", Cap.RIGHTS_ANSWER, "POST"),
    Page("rights_erasure", "rights_erasure", Cap.RIGHTS_ANSWER),
    Page("rights_erasure_accept", "rights_erasure", Cap.RIGHTS_ANSWER, "POST"),
    Page("rights_restriction_set", "rights_request", Cap.RIGHTS_ANSWER, "POST"),
    Page("rights_restriction_lift", "restriction", Cap.RIGHTS_ANSWER, "POST"),
    Page("compliance", None, Cap.COMPLIANCE_MANAGE),
    Page("compliance_profile", None, Cap.COMPLIANCE_MANAGE),
    Page("compliance_register", None, Cap.COMPLIANCE_MANAGE),
    Page("compliance_notice", None, Cap.COMPLIANCE_MANAGE),
    Page("compliance_pack", None, Cap.COMPLIANCE_MANAGE),
    Page("compliance_pack_7z", None, Cap.COMPLIANCE_MANAGE, "POST"),
    Page("compliance_processor_add", None, Cap.COMPLIANCE_MANAGE),
    Page("compliance_processor_edit", "processor", Cap.COMPLIANCE_MANAGE),
    Page("compliance_processor_remove", "processor", Cap.COMPLIANCE_MANAGE, "POST"),
    Page("compliance_contract", "processor", Cap.COMPLIANCE_MANAGE),
    Page("psc_admin", None, Cap.USERS_MANAGE),
    Page("psc_unlink", "user", Cap.USERS_MANAGE, "POST"),
    Page("psc_only", "user", Cap.USERS_MANAGE, "POST"),
    Page("exchange_send", "patient", Cap.EXCHANGE_SEND),
    Page("exchange_receive", "patient", Cap.EXCHANGE_RECEIVE),
    Page("exchange_download", "exchange", Cap.EXCHANGE_SEND),
    Page("mssante_account", None, Cap.EXCHANGE_CONFIGURE),
    Page("mssante_recipients", None, Cap.EXCHANGE_RECIPIENTS),
    Page("mssante_recipient_remove", "mssante_recipient", Cap.EXCHANGE_RECIPIENTS, "POST"),
    Page("record_item_add", "patient", Cap.MEDICAL_EDIT, "POST"),
    Page("record_item_end", "record_item", Cap.MEDICAL_EDIT, "POST"),
    Page("document_view", "document", Cap.MEDICAL_VIEW),
    Page("draft_new", "patient", Cap.MEDICAL_EDIT, "POST"),
    Page("draft_edit", "consultation", Cap.MEDICAL_EDIT, "POST"),
    Page("letter_new", "patient", Cap.MEDICAL_EDIT),
    Page("letter_templates", None, Cap.MEDICAL_EDIT),
    Page("letter_template_new", None, Cap.MEDICAL_EDIT),
]

# Objects that belong to no patientèle: only the capability decides.
NOT_PATIENT_DATA = {
    None, "user", "alert", "backup_target", "checklist_proof", "incident", "processor", "mssante_recipient",
}

# Pages about the signed-in user only, open to every role, holding no patient data.
EVERY_SIGNED_IN_USER = {
    "dashboard",
    "my_account",
    "logout_everywhere",
    "session_locked",
    "session_lock_now",
    "session_heartbeat",
    "second_factor_required",
}
# The break-the-glass page is tested on its own below (it opens patients outside the reach).
# The unlock page of a locked server (passphrase mode) comes before any user exists, holds no
# data and only redirects once unlocked: tests/keys/test_unlock_page.py.
# The letter to one patient of a breach: tests/incidents/test_register.py (the patient's own reach).
# A draft and a letter template are their author's only (anyone else: 404), on top of the
# capability: tests/clinical/test_drafts.py and tests/clinical/test_letters.py.
# exchange_handoff_download: known only to the session that made the archive, with the capability
# it needs (tests/exchange/test_handoff.py: another session gets 404).
# A search's results live under an id of the searcher's own session (403 without PATIENT_LIST,
# unknown elsewhere): tests/patients/test_search_back.py.
SPECIAL = {
    "break_glass_open", "keys_unlock", "incident_notice", "draft_discard", "letter_template_edit",
    "exchange_handoff_download", "patient_search_results",
}

ROLES_OF = {
    "alice": Role.TITULAIRE,
    "bob": Role.TITULAIRE,
    "remi": Role.REMPLACANT,
    "sophie": Role.SECRETAIRE,
    "fabien": Role.FACTURATION,
    "regine": Role.REFERENT,
    "adam": Role.ADMIN,
}


def expected(page: Page, who: str, owner: str) -> str:
    allowed = WRITTEN[page.cap.value][ROLES_OF[who]]
    if page.obj in NOT_PATIENT_DATA:
        return "ok" if allowed else "403"
    in_reach = who in (GRANT_REACH if page.obj == "grant" else REACH)[owner]
    if page.cap_first:
        if not allowed:
            return "403"
        return "ok" if in_reach else "404"
    if not in_reach:
        return "404"
    return "ok" if allowed else "403"


def _objects(p: Personas, owner: str) -> dict:
    practitioner = getattr(p, owner)
    patient = p.alice_patient if owner == "alice" else p.bob_patient
    document = patient_actions.upload_document(
        actor=practitioner, patient=patient, title="Compte rendu", kind="compte_rendu", fileobj=io.BytesIO(PDF)
    )
    return {
        "patient": patient,
        "consultation": make_consultation(patient, practitioner),
        "document": document,
        "appointment": make_appointment(patient, practitioner),
        "care_sheet": make_care_sheet(patient, practitioner),
        "favourite": billing_actions.add_favourite(
            actor=practitioner, practitioner=practitioner, acts="G", amount=Decimal("30.00")
        ),
        "user": p.sophie,
        "alert": _alert(),
        "backup_target": _backup_target(),
        "grant": _grant(p, practitioner),
        "checklist_proof": _checklist_proof(personas=p),
        "incident": _incident(),
        "processor": compliance_actions.add_processor(
            actor=p.regine, name="Hébergeur", service="hosting", data_seen="health", contract=PDF
        ),
        "mssante_recipient": MssanteRecipient.objects.create(address="labo@ch-lilas.fr", marked_by=p.alice),
        "record_item": clinical_actions.add_item(actor=practitioner, patient=patient, kind="allergie",
                                                 label="Pénicilline"),
        "hold": LegalHold.objects.create(
            patient=patient, started_on=date(2024, 1, 1), reason="Réclamation amiable", set_by=practitioner
        ),
        **_rights_objects(practitioner, patient),
    }


def _rights_objects(practitioner, patient) -> dict:
    from tests.rights.helpers import record

    restriction_request = record(practitioner, patient, "limitation")
    return {
        "rights_request": record(practitioner, patient, "portabilite"),
        "rights_erasure": record(practitioner, patient, "effacement"),
        "restriction": rights_actions.set_restriction(
            actor=practitioner, request=restriction_request, processing="rappels"
        ),
    }


def _incident() -> Incident:
    now = timezone.now()
    return Incident.objects.create(title="Portable volé", discovered_at=now, aware_at=now)
def _exchange(p: Personas, owner: str, objects: dict):
    # An archive the owner made from their patient's record, waiting to be downloaded.
    selection = Selection(patient=objects["patient"], documents=[objects["document"]])
    return exchange_actions.write_archive(actor=getattr(p, owner), selection=selection).exchange


def _alert() -> Alert:
    now = timezone.now()
    return Alert.objects.create(
        kind=AlertKind.FAILED_LOGINS, key="ip:192.0.2.1", created_at=now, first_event_at=now, last_event_at=now
    )


def _grant(p: Personas, titulaire) -> GrantRequest:
    # A request by the administrator to reset the second factor of the owner's locum.
    return accounts_actions.reset_second_factor(actor=p.adam, user=p.remi if titulaire == p.alice else titulaire)


def _backup_target() -> Target:
    # A directory that does not exist: testing it fails quickly, and nothing is written.
    return Target.objects.create(name="Disque USB", kind=TargetKind.DIRECTORY, config={"path": "/nonexistent/hygie"})


def _checklist_proof(personas: Personas):
    return checklist_actions.declare(
        actor=personas.regine, item_id="wifi", answer="ok", declared_on=timezone.localdate(), proof=PDF
    )


def _url(page: Page, objects: dict) -> str:
    if page.obj is None:
        return reverse(page.name)
    return reverse(page.name, kwargs={"public_id": objects[page.obj].public_id})


CASES = [
    pytest.param(page, who, owner, id=f"{page.name}-{who}-{owner}")
    for page in PAGES
    for who in ("anonymous", *ROLES_OF)
    for owner in ("alice", "bob")
    if not (page.obj in NOT_PATIENT_DATA and owner == "bob")  # no owner: one run is enough
]


@pytest.mark.parametrize(("page", "who", "owner"), CASES)
def test_it_applies_the_permission_matrix(page: Page, who: str, owner: str, personas, client):
    objects = _objects(personas, owner)
    if page.obj == "exchange":  # written only where a page needs it: it is a whole .7z
        objects["exchange"] = _exchange(personas, owner, objects)
    url = _url(page, objects)
    if who != "anonymous":
        client.force_login(getattr(personas, who), backend="hygie.accounts.backends.HygieBackend")
    response = client.post(url, {}) if page.method == "POST" else client.get(url)

    if who == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
        return
    want = expected(page, who, owner)
    if want == "ok":
        assert response.status_code in (200, 302), (response.status_code, want)
        if response.status_code == 302:
            assert not response["Location"].startswith(reverse("account_login"))
            assert not response["Location"].startswith(reverse("second_factor_required"))
    else:
        assert response.status_code == int(want)


@pytest.mark.parametrize("who", ROLES_OF)
def test_it_lets_only_titulaires_open_a_patient_outside_their_reach(who: str, personas, client):
    client.force_login(getattr(personas, who), backend="hygie.accounts.backends.HygieBackend")
    url = reverse("break_glass_open", kwargs={"public_id": personas.bob_patient.public_id})
    response = client.get(url)
    if ROLES_OF[who] == Role.TITULAIRE:
        assert response.status_code in (200, 302)
    else:
        assert response.status_code in (403, 404)


def _our_url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns) -> None:
        for p in patterns:
            if hasattr(p, "url_patterns"):
                # allauth's flows (login, second factor) come before any access to data.
                if str(p.pattern) != "auth/":
                    walk(p.url_patterns)
            elif p.name:
                names.add(p.name)

    walk(get_resolver().url_patterns)
    return names


def test_it_covers_every_url_of_hygie():
    covered = {page.name for page in PAGES} | EVERY_SIGNED_IN_USER | SPECIAL
    missing = _our_url_names() - covered
    assert missing == set(), f"Add these URLs to the permission matrix test: {sorted(missing)}"
