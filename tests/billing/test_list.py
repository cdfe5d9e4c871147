from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from tests.factories import make_care_sheet, make_patient

URL = "/facturation/"


def test_it_redirects_anonymous_to_login(client, db):
    r = client.get(URL)
    assert r.status_code == 302
    assert "/auth/login/" in r["Location"]


def test_it_forbids_roles_without_billing(personas, login):
    for user in (personas.sophie, personas.regine, personas.adam):
        assert login(user).get(URL).status_code == 403


def test_it_shows_names_to_the_titulaire(personas, login):
    make_care_sheet(personas.alice_patient, personas.alice, acts="APC")
    make_care_sheet(personas.bob_patient, personas.bob)
    body = login(personas.alice).get(URL).content.decode()
    assert "MOREAU Jeanne" in body
    assert "APC" in body
    assert "BERNARD" not in body


def test_it_shows_names_to_the_remplacant(personas, login):
    make_care_sheet(personas.alice_patient, personas.alice)
    assert "MOREAU Jeanne" in login(personas.remi).get(URL).content.decode()


def test_it_shows_only_the_code_to_the_billing_clerk(personas, login):
    patient = personas.alice_patient
    make_care_sheet(patient, personas.alice, acts="TC")
    r = login(personas.fabien).get(URL)
    assert r.status_code == 200
    body = r.content.decode()
    assert patient.code in body
    assert "TC" in body
    for text in (patient.birth_name, patient.birth_name.upper(), patient.first_names):
        assert text not in body
    assert personas.bob_patient.code not in body


def test_it_sums_amounts_and_unpaid_amounts(personas, login):
    make_care_sheet(personas.alice_patient, personas.alice, amount=Decimal("25.50"), paid=True)
    make_care_sheet(personas.alice_patient, personas.alice, amount=Decimal("30.00"))
    make_care_sheet(personas.bob_patient, personas.bob, amount=Decimal("1000.00"))
    r = login(personas.fabien).get(URL)
    assert r.context["total"] == Decimal("55.50")
    assert r.context["unpaid_total"] == Decimal("30.00")
    assert "55,50" in r.content.decode()


def test_it_filters_unpaid_only(personas, login):
    make_care_sheet(personas.alice_patient, personas.alice, acts="SOLDE", paid=True)
    make_care_sheet(personas.alice_patient, personas.alice, acts="ATTENTE")
    body = login(personas.alice).get(URL, {"impayees": "on"}).content.decode()
    assert "ATTENTE" in body and "SOLDE" not in body


def test_it_filters_by_month(personas, login):
    this_month = timezone.localdate().replace(day=1)
    last_month = this_month - timedelta(days=1)
    make_care_sheet(personas.alice_patient, personas.alice, acts="AVANT", date=last_month)
    make_care_sheet(personas.alice_patient, personas.alice, acts="MAINTENANT", date=this_month)
    r = login(personas.alice).get(URL, {"mois": last_month.strftime("%Y-%m")})
    body = r.content.decode()
    assert "AVANT" in body and "MAINTENANT" not in body
    assert r.context["total"] == Decimal("30.00")


def test_it_explains_a_bad_month_in_french(personas, login):
    make_care_sheet(personas.alice_patient, personas.alice)
    r = login(personas.alice).get(URL, {"mois": "2025-13"})
    assert r.status_code == 200
    assert "Mois invalide" in r.content.decode()


def test_it_paginates(personas, login, monkeypatch):
    monkeypatch.setattr("hygie.billing.views.PAGE_SIZE", 2)
    other = make_patient(personas.alice, birth_name="Roux", first_names="Paul")
    for i in range(3):
        make_care_sheet(other, personas.alice, date=date(2025, 1, 10 + i))
    client = login(personas.alice)
    r = client.get(URL)
    assert len(r.context["rows"]) == 2 and r.context["total"] == Decimal("90.00")
    assert len(client.get(URL, {"page": "2"}).context["rows"]) == 1


def test_it_writes_billing_viewed(personas, login):
    make_care_sheet(personas.alice_patient, personas.alice)
    login(personas.fabien).get(URL, {"mois": "2025-03", "impayees": "on"})
    event = Event.objects.get(action=Ev.BILLING_VIEWED)
    assert event.actor == personas.fabien
    assert event.details == {"count": 0, "month": "2025-03", "unpaid_only": True}
