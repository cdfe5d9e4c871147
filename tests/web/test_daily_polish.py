"""Small visible things of a practitioner's day (issue 17): the locum's dashboard, an
acknowledged alert, the journal's « Cible » column, the lock page's wording, security keys."""

import re

from django.urls import reverse
from django.utils import timezone

from hygie.audit import journal
from hygie.audit.events import Ev
from hygie.audit.models import Alert, AlertKind
from tests.accounts.flows import reauthenticate
from tests.factories import PASSWORD


def test_it_tells_the_locum_whom_they_replace_and_until_when(personas, login):
    page = login(personas.remi).get("/").content.decode()
    assert 'id="replacing"' in page
    assert f"Vous remplacez {personas.alice.display_name} jusqu" in page
    # Nobody else gets the card.
    assert 'id="replacing"' not in login(personas.alice).get("/").content.decode()


def test_it_shows_an_acknowledged_alert_as_acknowledged_not_to_examine(personas, login):
    now = timezone.now()
    Alert.objects.create(
        kind=AlertKind.FAILED_LOGINS, key="ip:192.0.2.1", created_at=now, first_event_at=now, last_event_at=now,
        acknowledged_at=now, acknowledged_by=personas.regine, comment="Vu.",
    )
    page = login(personas.regine).get(reverse("alert_list")).content.decode()
    done = page.split("Acquittées récemment", 1)[1]
    assert "acquittée" in done and "à examiner" not in done


def test_it_names_the_target_in_words_not_internal_ids(personas, login):
    journal.record(Ev.PATIENT_VIEWED, actor=personas.alice, target=personas.alice_patient)
    page = login(personas.regine).get(reverse("journal")).content.decode()
    assert "patients.patient" not in page
    assert f"patients.patient {personas.alice_patient.pk}" not in page
    assert re.search(r'<td class="nowrap">' + re.escape(personas.alice_patient.code), page)


def test_it_words_the_lock_page_without_a_broken_elision(personas, login):
    client = login(personas.alice)
    client.post(reverse("session_lock_now"))
    page = client.get(reverse("session_locked")).content.decode()
    assert "La session de" not in page
    assert f"Session verrouillée : {personas.alice.display_name}." in page


def test_it_never_offers_a_security_key_to_an_account_without_one(client, personas):
    client.post(reverse("account_login"), {"login": "alice", "password": PASSWORD})
    page = client.get(reverse("mfa_authenticate")).content.decode()
    assert "clé secrète" not in page
    assert "Utiliser une clé de sécurité" not in page


def test_it_says_why_security_keys_fail_on_an_ip_address(personas, login):
    client = login(personas.alice)
    reauthenticate(client)  # adding a key asks the password first
    page = client.get(reverse("mfa_add_webauthn"), HTTP_HOST="127.0.0.1:8000")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="webauthn-host"' in body and "http://localhost:8000/" in body
    assert "Nom de la clé de sécurité" in body and ">Name<" not in body
    by_name = client.get(reverse("mfa_add_webauthn"), HTTP_HOST="localhost:8000")
    assert 'id="webauthn-host"' not in by_name.content.decode()

