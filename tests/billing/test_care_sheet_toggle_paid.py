from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.factories import make_care_sheet


def _url(sheet):
    return f"/facturation/{sheet.public_id}/reglement/"


def test_it_redirects_anonymous_to_login(personas, client):
    sheet = make_care_sheet(personas.alice_patient, personas.alice)
    r = client.post(_url(sheet))
    assert r.status_code == 302
    assert "/auth/login/" in r["Location"]
    sheet.refresh_from_db()
    assert sheet.paid is False


def test_it_accepts_post_only(personas, login):
    sheet = make_care_sheet(personas.alice_patient, personas.alice)
    assert login(personas.fabien).get(_url(sheet)).status_code == 405


def test_it_hides_another_practitioners_care_sheet(personas, login):
    sheet = make_care_sheet(personas.alice_patient, personas.alice)
    assert login(personas.bob).post(_url(sheet)).status_code == 404
    sheet.refresh_from_db()
    assert sheet.paid is False


def test_it_forbids_roles_without_billing(personas, login):
    sheet = make_care_sheet(personas.alice_patient, personas.alice)
    for user in (personas.sophie, personas.regine, personas.adam):
        assert login(user).post(_url(sheet)).status_code == 403
    sheet.refresh_from_db()
    assert sheet.paid is False


def test_it_toggles_paid_and_keeps_the_filters(personas, login):
    sheet = make_care_sheet(personas.alice_patient, personas.alice)
    client = login(personas.fabien)
    r = client.post(_url(sheet), {"mois": "2025-03", "impayees": "1", "page": "2"})
    assert r.status_code == 302
    assert r["Location"] == "/facturation/?mois=2025-03&impayees=1&page=2"
    sheet.refresh_from_db()
    assert sheet.paid is True
    client.post(_url(sheet))
    sheet.refresh_from_db()
    assert sheet.paid is False


def test_it_does_not_echo_unvalidated_filters(personas, login):
    sheet = make_care_sheet(personas.alice_patient, personas.alice)
    r = login(personas.alice).post(_url(sheet), {"mois": "javascript:alert(1)", "page": "x"})
    assert r["Location"] == "/facturation/"


def test_it_writes_care_sheet_updated(personas, login):
    sheet = make_care_sheet(personas.alice_patient, personas.alice)
    login(personas.fabien).post(_url(sheet))
    event = Event.objects.get(action=Ev.CARE_SHEET_UPDATED)
    assert event.actor == personas.fabien
    assert event.target_id == str(sheet.pk)
    assert event.details == {"fields": ["paid"], "paid": True}
