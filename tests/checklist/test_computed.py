"""Items Hygie knows are computed from its state: change the state, see the item change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from hygie.access.policy import Cap, Role
from hygie.audit import actions as audit_actions
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.backups.models import Run, RunKind, RunStatus
from hygie.checklist import actions, board
from hygie.checklist.middleware import ExportWatchMiddleware
from hygie.lib.selfcheck import OK, TODO, UNKNOWN
from hygie.web.middleware import RequestContextMiddleware
from tests.checklist.conftest import item
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_it_wants_a_second_factor_on_every_active_account(personas):
    assert item(board.evaluate(), "second-facteur").status == OK
    newcomer = make_user("nadia", Role.SECRETAIRE, mfa=False)
    row = item(board.evaluate(), "second-facteur")
    assert row.status == TODO and "nadia" in row.detail
    # A deactivated account no longer counts.
    newcomer.is_active = False
    newcomer.save()
    assert item(board.evaluate(), "second-facteur").status == OK
    Authenticator.objects.filter(user=personas.sophie).delete()
    assert item(board.evaluate(), "second-facteur").status == TODO


def test_it_wants_named_accounts_only(personas):
    assert item(board.evaluate(), "comptes-nominatifs").status == OK
    make_user("accueil", Role.SECRETAIRE, first_name="Accueil", last_name="Cabinet")
    row = item(board.evaluate(), "comptes-nominatifs")
    assert row.status == TODO and "accueil" in row.detail


def test_it_reads_the_idle_lock_setting(personas, settings):
    assert item(board.evaluate(), "verrouillage-hygie").status == OK
    settings.IDLE_LOCK_MINUTES = 30
    row = item(board.evaluate(), "verrouillage-hygie")
    assert row.status == TODO and "30 min" in row.detail


def test_it_turns_backups_red_without_a_backup_for_two_days(personas, healthy_backups):
    state = board.evaluate()
    assert item(state, "sauvegardes").status == OK
    assert item(state, "sauvegarde-recente").status == OK
    Run.objects.filter(kind=RunKind.BACKUP).update(finished_at=timezone.now() - timedelta(days=2))
    state = board.evaluate()
    assert item(state, "sauvegarde-recente").status == TODO
    assert item(state, "sauvegardes").status == TODO  # the off-site copy is two days old too


def test_it_needs_an_enabled_destination_for_automatic_backups(personas, healthy_backups):
    from hygie.backups.models import Target

    Target.objects.update(enabled=False)
    row = item(board.evaluate(), "sauvegardes")
    assert row.status == TODO and "Aucune destination" in row.detail


def test_a_failed_restore_test_turns_the_item_red(personas, healthy_backups):
    assert item(board.evaluate(), "test-restauration").status == OK
    healthy_backups(kind=RunKind.TEST_RESTORE, state=RunStatus.FAILURE, ago=timedelta(hours=1),
                    message="Paquet illisible.")
    row = item(board.evaluate(), "test-restauration")
    assert row.status == TODO and "Paquet illisible." in row.detail


def test_a_restore_test_older_than_35_days_is_due(personas, healthy_backups):
    Run.objects.filter(kind=RunKind.TEST_RESTORE).update(finished_at=timezone.now() - timedelta(days=36))
    assert item(board.evaluate(), "test-restauration").status == TODO


def test_it_wants_the_journal_verified_recently(personas):
    row = item(board.evaluate(), "journal-verifie")
    assert row.status == TODO and "jamais" in row.detail
    audit_actions.verify_journal()
    assert item(board.evaluate(), "journal-verifie").status == OK
    later = timezone.now() + timedelta(days=3)
    assert item(board.evaluate(now=later), "journal-verifie").status == TODO


def test_a_broken_journal_turns_the_item_red(personas):
    audit_actions.verify_journal()
    event = Event.objects.filter(action=Ev.JOURNAL_VERIFIED).latest("id")
    # The daily verification found the journal altered (what verify_journal records then).
    Event.objects.filter(pk=event.pk).update(details={"ok": False, "position": 3})
    row = item(board.evaluate(), "journal-verifie")
    assert row.status == TODO and "altéré" in row.detail


def test_it_checks_billing_sees_pseudonyms_only(personas, monkeypatch):
    assert item(board.evaluate(), "facturation-pseudonymes").status == OK
    from hygie.access import policy

    widened = dict(policy.ROLE_CAPABILITIES)
    widened[Role.FACTURATION] = widened[Role.FACTURATION] | {Cap.BILLING_SEES_NAMES}
    monkeypatch.setattr(policy, "ROLE_CAPABILITIES", widened)
    row = item(board.evaluate(), "facturation-pseudonymes")
    assert row.status == TODO and "billing:names" in row.detail


def _download(request, *, journaled: bool):
    def view(req):
        if journaled:
            actions.poster_exported(actor=req.user, score=0)
        response = HttpResponse(b"%PDF-1.4", content_type="application/pdf")
        response["Content-Disposition"] = 'attachment; filename="x.pdf"'
        return response

    # Each request gets its own id from RequestContextMiddleware, as in production.
    return RequestContextMiddleware(ExportWatchMiddleware(view))(request)


def test_it_catches_a_download_that_wrote_no_journal_event(personas):
    request = RequestFactory().get("/telecharger/")
    request.user = personas.alice
    _download(request, journaled=True)
    assert item(board.evaluate(), "exports-journalises").status == OK
    _download(request, journaled=False)
    row = item(board.evaluate(), "exports-journalises")
    assert row.status == TODO and "/telecharger/" in row.detail
    flagged = Event.objects.get(action=Ev.EXPORT_UNJOURNALED)
    assert flagged.details == {"view": "/telecharger/"}
    assert row.detail.startswith("1 téléchargement(s) sans trace depuis un an")
    _download(request, journaled=False)
    assert item(board.evaluate(), "exports-journalises").detail.startswith("2 téléchargement(s) sans trace")


def test_every_real_export_of_hygie_is_journaled(personas, login, client):
    # Through the whole middleware stack: the poster, a patient document, the access report PDF.
    import io

    from django.urls import reverse

    from hygie.patients import actions as patient_actions

    assert login(personas.regine).get(reverse("checklist_poster")).status_code == 200
    document = patient_actions.upload_document(
        actor=personas.alice, patient=personas.alice_patient, title="CR", kind="compte_rendu",
        fileobj=io.BytesIO(b"%PDF-1.4\n%%EOF\n"),
    )
    client.force_login(personas.alice, backend="hygie.accounts.backends.HygieBackend")
    download = client.get(reverse("document_download", kwargs={"public_id": document.public_id}))
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    report = client.get(reverse("patient_access_report_pdf", kwargs={"public_id": personas.alice_patient.public_id}))
    assert report.status_code == 200
    assert not Event.objects.filter(action=Ev.EXPORT_UNJOURNALED).exists()


def test_training_is_unknown_until_recorded_then_due_per_person(personas):
    assert item(board.evaluate(), "formation").status == UNKNOWN
    today = timezone.localdate()
    for person in personas.all().values():
        actions.record_training(actor=personas.regine, person=person, course="senscyber", followed_on=today)
    assert item(board.evaluate(), "formation").status == OK
    in_a_year = timezone.now() + timedelta(days=366)
    state = board.evaluate(now=in_a_year)
    assert item(state, "formation").status == TODO
    assert len(state.due_training) == 7


def test_an_item_nobody_declared_is_unknown_never_ok(personas):
    state = board.evaluate()
    for row in state.rows:
        if not row.computed:
            assert row.status == UNKNOWN, row.item.id
