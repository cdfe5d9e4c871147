"""Every kind of event issue 4 lists is written by the real flow that causes it (LOG-1).

Each test drives the flow as a user would (test client, allauth's forms, commands) and looks for
its event. Key operations and backups are journaled by their own features.
"""

from __future__ import annotations

import io
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import NoReverseMatch, reverse

from hygie.access.policy import Role
from hygie.accounts import actions as account_actions
from hygie.audit import alerts
from hygie.audit.events import Ev, Outcome
from hygie.audit.models import AlertKind, Event
from hygie.patients import actions as patient_actions
from hygie.practices.models import Practice
from tests.accounts.flows import (
    fresh_totp_code,
    go_idle,
    reauthenticate,
    sign_in,
    submit_code,
    submit_password,
    totp_clock,
    totp_code,
    totp_secret,
)
from tests.factories import PASSWORD, make_appointment, make_consultation, make_replacement, make_user

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _events(action: Ev, **filters) -> list[Event]:
    return list(Event.objects.filter(action=action, **filters).order_by("id"))


def _one(action: Ev, **filters) -> Event:
    found = _events(action, **filters)
    assert len(found) == 1, (action, found)
    return found[0]


def _signed_in(user) -> Client:
    client = Client()
    sign_in(client, user)
    return client


def _admin(personas) -> Client:
    """The administrator, signed in for real, having just confirmed their password."""
    client = _signed_in(personas.adam)
    assert reauthenticate(client).status_code == 302
    return client


# --- Logins, second factor, sessions -------------------------------------------------------


def test_login_success(personas):
    _signed_in(personas.alice)
    assert _one(Ev.LOGIN_SUCCEEDED, actor=personas.alice).target_id == str(personas.alice.pk)


def test_login_failure_wrong_password(personas, client):
    submit_password(client, "alice", "Pas-Le-Bon!Mot42")
    event = _one(Ev.LOGIN_FAILED)
    assert event.target_id == str(personas.alice.pk) and event.outcome == Outcome.FAILURE
    assert event.details == {"reason": "password"}


def test_login_failure_unknown_account(personas, client):
    submit_password(client, "personne", "Pas-Le-Bon!Mot42")
    event = _one(Ev.LOGIN_FAILED)
    assert event.target_id == "" and event.details == {"reason": "unknown"}
    assert "personne" not in str(event.details)


def test_login_attempt_by_a_deactivated_account(personas, client):
    account_actions.deactivate(actor=personas.adam, user=personas.sophie)
    submit_password(client, "sophie")
    assert _one(Ev.LOGIN_FAILED).details == {"reason": "inactive"}


def test_login_attempt_by_a_remplacant_outside_the_replacement(personas, client):
    late = make_user("lea", Role.REMPLACANT)
    make_replacement(late, personas.alice, active=False)
    submit_password(client, "lea")
    assert _one(Ev.LOGIN_FAILED, target_id=str(late.pk)).details == {"reason": "replacement"}


def test_login_failure_wrong_second_factor_code(personas, client):
    submit_password(client, "alice")
    submit_code(client, "000000")
    event = _one(Ev.LOGIN_FAILED, target_id=str(personas.alice.pk))
    assert event.details["reason"] == "second_factor" and event.details["reauthentication"] is False
    assert not _events(Ev.LOGIN_SUCCEEDED)


def test_lock_out(personas, client, settings):
    for _ in range(settings.LOGIN_FAILURES_PER_PAIR):
        submit_password(client, "alice", "Pas-Le-Bon!Mot42")
    submit_password(client, "alice")
    event = _one(Ev.LOGIN_LOCKED)
    assert event.target_id == str(personas.alice.pk) and event.outcome == Outcome.DENIED


def test_second_factor_enrolment(db, django_capture_on_commit_callbacks):
    newcomer = make_user("nadia", Role.TITULAIRE, mfa=False)
    client = Client()
    client.force_login(newcomer, backend="hygie.accounts.backends.HygieBackend")
    reauthenticate(client)
    client.get(reverse("mfa_activate_totp"))
    secret = client.session["mfa.totp.secret"]
    # A wrong code enrols nothing and journals nothing.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("mfa_activate_totp"), {"code": "000000"})
    assert not _events(Ev.MFA_ENROLLED)

    # allauth sends its signal once the request's transaction has committed.
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("mfa_activate_totp"), {"code": fresh_totp_code(secret)})
    assert r.status_code == 302
    # The TOTP app, and the recovery codes allauth generates with it.
    enrolled = sorted(e.details["type"] for e in _events(Ev.MFA_ENROLLED, actor=newcomer))
    assert enrolled == ["recovery_codes", "totp"]


def test_second_factor_reset_by_the_administrator(personas):
    client = _admin(personas)
    client.post(reverse("user_reset_mfa", args=[personas.sophie.public_id]))
    event = _one(Ev.MFA_RESET, actor=personas.adam)
    assert event.target_id == str(personas.sophie.pk)


def test_idle_lock(personas):
    client = _signed_in(personas.alice)
    go_idle(client, 3600)
    client.get("/")
    assert _one(Ev.SESSION_IDLE_LOCKED, actor=personas.alice)


def test_logout(personas):
    client = _signed_in(personas.alice)
    client.post(reverse("account_logout"))
    assert _one(Ev.LOGOUT, actor=personas.alice)


def test_reauthentication_by_password(personas):
    client = _signed_in(personas.alice)
    reauthenticate(client)
    assert _one(Ev.REAUTHENTICATED, actor=personas.alice).details == {"method": "password"}


def test_reauthentication_by_second_factor(personas):
    client = _signed_in(personas.alice)
    at = (int(time.time()) // 30 + 1000) * 30 + 5  # a time step no login of this test used
    with totp_clock(at):
        client.post(reverse("mfa_reauthenticate"), {"code": totp_code(totp_secret(personas.alice), at=at)})
    assert _one(Ev.REAUTHENTICATED, actor=personas.alice).details == {"method": "mfa", "type": "totp"}


def test_a_plain_login_is_not_a_reauthentication(personas):
    _signed_in(personas.alice)
    assert not _events(Ev.REAUTHENTICATED)


# --- Patient records -----------------------------------------------------------------------


def _patient_url(name: str, obj) -> str:
    return reverse(name, kwargs={"public_id": obj.public_id})


def test_record_consultation_and_document_reads(personas, login):
    patient = personas.alice_patient
    consultation = make_consultation(patient, personas.alice)
    document = patient_actions.upload_document(
        actor=personas.alice, patient=patient, title="Compte rendu", kind="compte_rendu", fileobj=io.BytesIO(PDF)
    )
    client = login(personas.alice)
    client.get(_patient_url("patient_detail", patient))
    client.get(_patient_url("history_edit", patient))
    client.get(_patient_url("consultation_detail", consultation))
    client.get(_patient_url("document_download", document))

    for action in (Ev.PATIENT_VIEWED, Ev.HISTORY_VIEWED, Ev.CONSULTATION_VIEWED, Ev.DOCUMENT_DOWNLOADED):
        assert _one(action, actor=personas.alice).patient_id == patient.pk


def test_creations_changes_and_deletions(personas, login):
    client = login(personas.alice)
    patient = personas.alice_patient
    client.post(reverse("patient_create"), {
        "birth_name": "Dupont", "first_names": "Marie", "birth_date": "03/04/1971", "sex": "F",
    })
    client.post(_patient_url("patient_edit", patient), {
        "birth_name": "Moreau", "first_names": "Jeanne", "birth_date": "17/05/1980", "sex": "F", "phone": "0102030405",
    })
    client.post(_patient_url("history_edit", patient), {"history": "Allergie"})
    client.post(_patient_url("consultation_create", patient), {"date": "04/03/2025 10:00", "motif": "Suivi"})
    client.post(_patient_url("document_upload", patient),
                {"title": "Courrier", "kind": "courrier", "file": io.BytesIO(PDF)})
    client.post(_patient_url("care_team", patient), {"operation": "add", "practitioner": personas.bob.public_id})
    client.post(_patient_url("care_team", patient), {"operation": "remove", "practitioner": personas.bob.public_id})
    appointment = make_appointment(patient, personas.alice)
    client.post(_patient_url("appointment_cancel", appointment))

    for action in (Ev.PATIENT_CREATED, Ev.PATIENT_UPDATED, Ev.HISTORY_UPDATED, Ev.CONSULTATION_CREATED,
                   Ev.DOCUMENT_UPLOADED, Ev.CARE_TEAM_ADDED, Ev.CARE_TEAM_REMOVED, Ev.APPOINTMENT_CANCELLED):
        assert _one(action, actor=personas.alice), action
    assert _one(Ev.PATIENT_UPDATED).details == {"fields": ["phone"]}


def test_erasure(personas, login):
    try:
        url = _patient_url("patient_erase", personas.alice_patient)
    except NoReverseMatch:
        pytest.skip("Effacement d'un dossier : pas encore de page (chantier du chiffrement au repos).")
    client = login(personas.alice)
    reauthenticate(client)
    client.post(url, {"code": personas.alice_patient.code})
    assert _one(Ev.PATIENT_ERASED, actor=personas.alice).patient_id == personas.alice_patient.pk


def test_searches_never_keep_the_query(personas, login):
    client = login(personas.alice)
    client.post(reverse("patient_search"), {"q": "Moreau"})
    event = _one(Ev.PATIENT_SEARCHED, actor=personas.alice)
    assert event.details == {"results": 1, "more": False}
    assert not Event.objects.filter(details__icontains="Moreau").exists()
    assert not Event.objects.filter(reason__icontains="Moreau").exists()


def test_exports_and_downloads(personas, login):
    Practice.objects.create(name="Cabinet des Lilas")
    login(personas.alice).get(_patient_url("patient_access_report_pdf", personas.alice_patient))
    assert _one(Ev.ACCESS_REPORT_EXPORTED, actor=personas.alice).patient_id == personas.alice_patient.pk


def test_break_the_glass_with_its_reason(personas, login):
    client = login(personas.bob)
    client.post(_patient_url("break_glass_open", personas.alice_patient), {"reason": "Urgence : patient inconscient"})
    event = _one(Ev.BREAK_GLASS, actor=personas.bob)
    assert event.patient_id == personas.alice_patient.pk
    # The reason is reached through the access row the event points to, not copied into it.
    access = personas.alice_patient.break_glass.get(public_id=event.details["access"])
    assert access.reason == "Urgence : patient inconscient" and event.reason == ""


# --- Roles, imports, administration --------------------------------------------------------


def test_role_changes(personas):
    _admin(personas).post(reverse("user_role", args=[personas.sophie.public_id]), {"role": Role.FACTURATION})
    event = _one(Ev.USER_ROLE_CHANGED, actor=personas.adam)
    assert event.details == {"from": Role.SECRETAIRE, "to": Role.FACTURATION}


def test_imports(personas, tmp_path):
    Practice.objects.create(name="Cabinet des Lilas")
    path = tmp_path / "patients.csv"
    path.write_bytes("Nom;Prénom;Date de naissance;Sexe\r\nLefèvre;Hélène;03/04/1950;F\r\n".encode("cp1252"))
    call_command("import_patients", str(path), "--practitioner", "alice", stdout=StringIO(), stderr=StringIO())
    event = _one(Ev.PATIENTS_IMPORTED)
    assert event.channel == "cli"
    assert "Lefèvre" not in str(event.details)


def test_administrative_actions(personas):
    client = _admin(personas)
    client.post(reverse("user_create"), {
        "username": "nouveau", "first_name": "Nina", "last_name": "Roux", "email": "", "role": Role.SECRETAIRE,
        "profession": "", "password": "Provisoire!Cabinet2031",
    })
    client.post(reverse("user_deactivate", args=[personas.fabien.public_id]))
    client.post(reverse("user_reactivate", args=[personas.fabien.public_id]))
    client.post(reverse("user_set_password", args=[personas.sophie.public_id]), {"password": "Provisoire!Cabinet2032"})

    for action in (Ev.USER_CREATED, Ev.USER_DEACTIVATED, Ev.USER_REACTIVATED, Ev.PASSWORD_SET_BY_ADMIN):
        assert _one(action, actor=personas.adam), action


def test_journal_administration(personas):
    patient_actions.open_break_glass(personas.bob, personas.alice_patient, "Urgence : patient inconscient")
    [alert] = [a for a in alerts.scan() if a.kind == AlertKind.BREAK_GLASS]
    client = _signed_in(personas.regine)
    client.get(reverse("journal"))
    client.post(reverse("journal_verify"))
    client.post(reverse("alert_acknowledge", args=[alert.public_id]), {"comment": "Vu."})

    for action in (Ev.ALERT_RAISED, Ev.JOURNAL_VIEWED, Ev.JOURNAL_VERIFIED, Ev.ALERT_ACKNOWLEDGED,
                   Ev.BREAK_GLASS_REVIEWED):
        assert _events(action), action


def test_the_password_of_a_failed_login_is_never_written(personas, client):
    submit_password(client, "alice", "Pas-Le-Bon!Mot42")
    sign_in(client, personas.alice)
    for text in ("Pas-Le-Bon", PASSWORD):
        assert not Event.objects.filter(details__icontains=text).exists()
