"""Issue 10: a patient's restriction or objection on "echanges" (or "tout") stops every send of
the record — archive from the page or the CLI, MSSanté message — with a French message and a
journaled refusal; once lifted, sending works again."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from hygie.audit.events import Ev, Outcome
from hygie.audit.models import Event
from hygie.exchange import actions
from hygie.exchange.content import Selection
from hygie.exchange.models import Exchange
from hygie.practices.models import Practice
from hygie.rights import actions as rights_actions
from hygie.rights.models import Processing
from tests.rights.helpers import record as rights_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def practice(db):
    return Practice.objects.create(name="Cabinet des Lilas")


def _block(personas, patient, processing=Processing.EXCHANGE, right="opposition"):
    req = rights_request(personas.alice, patient, right)
    return rights_actions.set_restriction(actor=personas.alice, request=req, processing=processing)


def _refusals(action: Ev) -> list[Event]:
    return list(Event.objects.filter(action=action, outcome=Outcome.DENIED, details__reason="restriction"))


def test_the_page_refuses_an_archive_then_allows_it_once_lifted(personas, record, login):
    patient, docs = record
    flag = _block(personas, patient)
    client = login(personas.alice)
    url = reverse("exchange_send", kwargs={"public_id": patient.public_id})
    response = client.post(url, {"documents": [str(docs[0].public_id)], "mode": "archive"})
    assert response.status_code == 200
    assert "s'est opposé aux échanges" in response.content.decode().replace("&#x27;", "'")
    assert not Exchange.objects.exists()
    [event] = _refusals(Ev.EXCHANGE_ARCHIVE_CREATED)
    assert event.patient_id == patient.pk and event.actor_id == personas.alice.pk

    rights_actions.lift_restriction(actor=personas.alice, restriction=flag)
    response = client.post(url, {"documents": [str(docs[0].public_id)], "mode": "archive"})
    assert response.status_code == 200 and 'class="passphrase"' in response.content.decode()
    assert Exchange.objects.count() == 1


def test_a_restriction_of_every_processing_blocks_the_exchange_too(personas, record, tmp_path):
    patient, docs = record
    _block(personas, patient, Processing.ALL, right="limitation")
    with pytest.raises(actions.ActionError, match="rien n'a été envoyé"):
        actions.write_archive(actor=personas.alice, selection=Selection(patient=patient, documents=docs),
                              out=tmp_path / "x.7z")
    assert not (tmp_path / "x.7z").exists()


def test_a_reminders_only_restriction_does_not_block_the_exchange(personas, record, tmp_path):
    patient, docs = record
    _block(personas, patient, Processing.REMINDERS)
    written = actions.write_archive(actor=personas.alice, selection=Selection(patient=patient, documents=docs),
                                    out=tmp_path / "x.7z")
    assert written.path.is_file()


def test_an_mssante_message_is_refused_before_any_connection(personas, record):
    # No account is configured: had the check come later, the message would speak of the account.
    patient, docs = record
    _block(personas, patient)
    with pytest.raises(actions.ActionError, match="s'est opposé aux échanges"):
        actions.send_message(actor=personas.alice, selection=Selection(patient=patient, documents=docs),
                             recipient="dr.martin@hopital.mssante.fr")
    assert len(_refusals(Ev.EXCHANGE_MESSAGE_SENT)) == 1
    assert not Exchange.objects.exists()


def test_the_cli_refuses_then_allows_once_lifted(personas, record, practice, tmp_path):
    patient, _docs = record
    flag = _block(personas, patient)
    out = tmp_path / "dossier.7z"
    with pytest.raises(CommandError, match="s'est opposé aux échanges"):
        call_command("exchange", "archive", "--patient", patient.code, "--documents", "all", "--out", str(out),
                     "--json", stdout=io.StringIO())
    assert not out.exists()
    [event] = _refusals(Ev.EXCHANGE_ARCHIVE_CREATED)
    assert event.actor_role == "cli"

    rights_actions.lift_restriction(actor=personas.alice, restriction=flag)
    stdout = io.StringIO()
    call_command("exchange", "archive", "--patient", patient.code, "--documents", "all", "--out", str(out),
                 "--json", stdout=stdout)
    assert json.loads(stdout.getvalue())["files"] == 2 and out.is_file()
