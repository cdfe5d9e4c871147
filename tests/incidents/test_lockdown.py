"""« Isoler Hygie »: sessions end, logins are refused (but the admin allowed at the machine),
downloads and pages are refused, backups go to locked destinations only, lift restores; bad
input refused in French with nothing changed."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from hygie.audit.events import Ev
from hygie.audit.models import Alert, AlertKind, Event
from hygie.audit.verify import verify
from hygie.backups import service
from hygie.backups.models import Target, TargetKind
from hygie.incidents import actions
from hygie.incidents import lockdown as state
from hygie.incidents.models import Lockdown
from hygie.patients import actions as patient_actions
from hygie.practices.models import Practice
from tests.accounts.flows import PASSWORD, fresh_totp_code, reauthenticate, totp_secret
from tests.factories import make_user

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _cli(*args: str) -> dict:
    import json

    out = io.StringIO()
    call_command("incident", *args, stdout=out)
    return json.loads(out.getvalue())


def test_it_ends_every_open_session_and_refuses_pages(personas, client):
    client.force_login(personas.alice, backend="hygie.accounts.backends.HygieBackend")
    assert client.get(reverse("patient_list")).status_code == 200
    actions.start_lockdown(actor=personas.regine, reason="Rançongiciel sur l'accueil")
    response = client.get(reverse("patient_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    # The session is gone for good: the next request is anonymous.
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("account_login"))


def test_it_refuses_a_new_login_with_a_french_message_and_journals_it(personas, client):
    personas.alice.set_password("motdepasse-solide-42")
    personas.alice.save()
    actions.start_lockdown(actor=None, reason="Compte compromis")
    response = client.post(reverse("account_login"), {"login": "alice", "password": "motdepasse-solide-42"})
    assert response.status_code == 200
    assert "Hygie est isolé" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert Event.objects.filter(action=Ev.LOCKDOWN_REFUSED, details__what="login").exists()


def test_the_login_page_says_what_is_happening_and_whom_to_call(personas, client):
    actions.save_contacts(actor=personas.regine, provider_name="InfoCab", provider_phone="01 02 03 04 05")
    actions.start_lockdown(actor=None, reason="Compte compromis")
    page = client.get(reverse("account_login")).content.decode()
    assert "Hygie est isolé" in page and "01 02 03 04 05" in page and "17Cyber" in page


def test_only_the_admin_allowed_at_the_machine_signs_in_and_reaches_only_incident_pages(personas, client):
    actions.start_lockdown(actor=None, reason="Compte compromis", allow=personas.adam)
    assert state.may_sign_in(personas.adam) and not state.may_sign_in(personas.regine)
    personas.adam.refresh_from_db()  # its session epoch was bumped with everyone's
    client.force_login(personas.adam, backend="hygie.accounts.backends.HygieBackend")
    assert client.get(reverse("incidents")).status_code == 200
    assert client.get(reverse("user_list"))["Location"] == reverse("incidents")
    assert client.post(reverse("backup_request")).status_code == 423
    # The fiche réflexe (no patient data) may be printed; nothing else leaves.
    assert client.get(reverse("incident_fiche_pdf")).status_code == 200


def test_it_refuses_downloads_even_to_a_session_that_slipped_through(personas, client):
    document = patient_actions.upload_document(
        actor=personas.alice, patient=personas.alice_patient, title="CR", kind="compte_rendu", fileobj=io.BytesIO(PDF)
    )
    client.force_login(personas.alice, backend="hygie.accounts.backends.HygieBackend")
    actions.start_lockdown(actor=None, reason="Vol d'un portable")
    # A login after the switch by another path (say a passkey) is still cut by the middleware.
    personas.alice.refresh_from_db()
    client.force_login(personas.alice, backend="hygie.accounts.backends.HygieBackend")
    response = client.get(reverse("document_download", kwargs={"public_id": document.public_id}))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert not Event.objects.filter(action=Ev.DOCUMENT_DOWNLOADED).exists()


def test_it_journals_and_alerts_and_the_journal_verifies(personas):
    row = actions.start_lockdown(actor=personas.alice, reason="Intrusion suspectée")
    assert Event.objects.filter(action=Ev.LOCKDOWN_STARTED, details__lockdown=str(row.public_id)).exists()
    assert Alert.objects.filter(kind=AlertKind.INCIDENT, severity="critical").count() == 1
    actions.lift_lockdown(actor=None)
    assert Event.objects.filter(action=Ev.LOCKDOWN_LIFTED).exists()
    assert verify().ok


def test_the_reason_stays_out_of_the_journal(personas):
    actions.start_lockdown(actor=personas.alice, reason="Mme Moreau a reçu le dossier d'un autre")
    assert not Event.objects.filter(details__icontains="Moreau").exists()
    assert not any("Moreau" in str(e.details) + e.reason for e in Event.objects.all())


def test_backups_go_only_to_locked_destinations(personas, tmp_path, settings):
    plain = Target.objects.create(name="Disque USB", kind=TargetKind.DIRECTORY, config={"path": str(tmp_path)})
    actions.start_lockdown(actor=None, reason="Rançongiciel")
    with pytest.raises(service.BackupError, match="verrouillage des objets"):
        service.run(targets=[plain])
    with pytest.raises(service.BackupError, match="isolé"):
        service.run(tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert Event.objects.filter(action=Ev.LOCKDOWN_REFUSED, details__what="backup").count() == 2


def test_it_records_what_each_step_cut(personas, client):
    client.force_login(personas.alice, backend="hygie.accounts.backends.HygieBackend")
    client.get(reverse("patient_list"))
    row = actions.start_lockdown(actor=None, reason="Rançongiciel sur l'accueil")
    steps = {s["key"]: s for s in row.steps}
    assert list(steps) == ["sessions", "logins", "downloads", "backups", "alert"]
    assert steps["sessions"]["count"] == 1
    assert steps["logins"]["count"] == 7  # every active persona
    event = Event.objects.get(action=Ev.LOCKDOWN_STARTED)
    assert (event.details["sessions"], event.details["accounts_refused"]) == (1, 7)
    lifted = actions.lift_lockdown(actor=None)
    assert [s["key"] for s in lifted.steps if s["phase"] == "lift"] == ["confirm", "crisis", "restore"]


# --- Lifting --------------------------------------------------------------------------------

def test_lifting_without_the_rights_is_refused_and_changes_nothing(personas):
    actions.start_lockdown(actor=None, reason="Compte compromis")
    for who in (personas.alice, personas.regine, personas.sophie):
        with pytest.raises(actions.ActionError, match="administrateur"):
            actions.lift_lockdown(actor=who)
    assert state.is_active()


def test_lifting_from_the_web_needs_a_second_admin_or_referent(personas):
    actions.start_lockdown(actor=None, reason="Compte compromis")
    with pytest.raises(actions.ActionError, match="confirmer"):
        actions.lift_lockdown(actor=personas.adam)
    with pytest.raises(actions.ActionError, match="autre administrateur"):
        actions.lift_lockdown(actor=personas.adam, confirmer=personas.alice)
    assert state.is_active()
    row = actions.lift_lockdown(actor=personas.adam, confirmer=personas.regine)
    assert row.confirmed_by == personas.regine and not state.is_active()


def _admin_on_incident_page(personas, client):
    actions.start_lockdown(actor=None, reason="Compte compromis", allow=personas.adam)
    personas.adam.refresh_from_db()
    client.force_login(personas.adam, backend="hygie.accounts.backends.HygieBackend")
    assert reauthenticate(client).status_code == 302


def test_the_lift_view_refuses_a_wrong_confirmation(personas, client):
    _admin_on_incident_page(personas, client)
    code = fresh_totp_code(totp_secret(personas.regine))
    response = client.post(reverse("incident_lift"), {"confirmer": "regine", "confirmer_password": "faux",
                                                      "confirmer_code": code})
    assert response.status_code == 302 and response["Location"] == reverse("incidents")
    assert state.is_active()
    assert Event.objects.filter(action=Ev.LOCKDOWN_REFUSED, details__what="lift").exists()


def test_the_lift_view_lifts_with_the_referent_confirming(personas, client):
    _admin_on_incident_page(personas, client)
    code = fresh_totp_code(totp_secret(personas.regine))
    response = client.post(reverse("incident_lift"), {"confirmer": "regine", "confirmer_password": PASSWORD,
                                                      "confirmer_code": code})
    assert response.status_code == 302
    assert not state.is_active()
    assert Lockdown.objects.get().confirmed_by == personas.regine


def test_the_cli_locks_allows_and_lifts(personas):
    Practice.objects.create(name="Cabinet des Lilas")
    data = _cli("lockdown", "--reason", "Rançongiciel à l'accueil", "--json")
    assert Lockdown.objects.get(public_id=data["lockdown"]).lifted_at is None
    with pytest.raises(CommandError, match="déjà isolé"):
        call_command("incident", "lockdown", "--reason", "encore une fois", stdout=io.StringIO())
    with pytest.raises(CommandError, match="administrateur actif"):
        call_command("incident", "allow", "alice", stdout=io.StringIO())
    assert _cli("allow", "adam", "--json")["allowed"] == "adam"
    assert _cli("status", "--json")["lockdown"]["allowed"] == "adam"
    assert _cli("lift", "--json")["lifted_at"]
    assert _cli("status", "--json")["lockdown"] is None
    with pytest.raises(CommandError, match="pas isolé"):
        call_command("incident", "lift", stdout=io.StringIO())


def test_a_single_admin_practice_lifts_alone(db):
    admin = make_user("seul", "admin")
    actions.start_lockdown(actor=None, reason="Compte compromis")
    assert not actions.lift_needs_confirmation(admin)
    actions.lift_lockdown(actor=admin)
    assert not state.is_active()


def test_a_switch_from_another_server_is_seen_on_the_next_request(personas, client):
    """The lockdown is read with the request's user (no cache): a row another server process
    wrote, without the session epochs bumped yet, is enforced at once, and a lift as well."""
    from django.utils import timezone

    client.force_login(personas.adam, backend="hygie.accounts.backends.HygieBackend")
    assert client.get(reverse("user_list")).status_code == 200
    row = Lockdown.objects.create(started_at=timezone.now(), reason="Test", allowed_user=personas.adam)
    assert client.get(reverse("user_list"))["Location"] == reverse("incidents")
    Lockdown.objects.filter(pk=row.pk).update(lifted_at=timezone.now())
    assert client.get(reverse("user_list")).status_code == 200
