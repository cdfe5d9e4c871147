"""The accountant's export (pseudonymous CSV), the note d'honoraires (PDF) and the usual acts."""

import csv
import html
import io
import subprocess
from decimal import Decimal

from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.billing import actions
from hygie.billing.models import CareSheet
from tests.factories import make_care_sheet


def _rows(response):
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_it_exports_pseudonymous_rows_with_french_amounts(personas, login):
    make_care_sheet(personas.alice_patient, personas.alice, amount=Decimal("1890.00"), acts="G", paid=True)
    make_care_sheet(personas.bob_patient, personas.bob, amount=Decimal("25.00"))
    for user in (personas.alice, personas.fabien):
        r = login(user).get("/facturation/export.csv")
        assert r.status_code == 200
        assert r["Content-Type"].startswith("text/csv")
        assert "attachment" in r["Content-Disposition"]
        rows = _rows(r)
        assert rows[0] == ["date", "reference", "praticien", "code_patient", "montant_eur", "regle"]
        assert len(rows) == 2  # bob's sheet is outside the scope
        assert rows[1][3] == personas.alice_patient.code
        assert rows[1][4] == "1890,00" and rows[1][5] == "oui"
        body = r.content.decode()
        assert "MOREAU" not in body.upper() and "Jeanne" not in body


def test_it_applies_the_filters_and_journals_counts_only(personas, login):
    make_care_sheet(personas.alice_patient, personas.alice, paid=True)
    make_care_sheet(personas.alice_patient, personas.alice)
    r = login(personas.fabien).get("/facturation/export.csv", {"impayees": "1"})
    assert len(_rows(r)) == 2
    event = Event.objects.get(action=Ev.BILLING_EXPORTED)
    assert event.details == {"count": 1, "month": "", "unpaid_only": True}
    assert event.patient_id is None


def test_it_refuses_malformed_filters(personas, login):
    r = login(personas.fabien).get("/facturation/export.csv", {"mois": "2025-13"})
    assert r.status_code == 302
    assert not Event.objects.filter(action=Ev.BILLING_EXPORTED).exists()


def test_it_neutralises_formulas_in_the_csv(personas, login):
    personas.alice.last_name = "=HYPERLINK(1)"
    personas.alice.save()
    make_care_sheet(personas.alice_patient, personas.alice)
    rows = _rows(login(personas.fabien).get("/facturation/export.csv"))
    assert not rows[1][2].startswith("=")


def test_it_shows_amounts_in_french_and_the_code_to_the_titulaire(personas, login):
    make_care_sheet(personas.alice_patient, personas.alice, amount=Decimal("1890.00"))
    body = login(personas.alice).get("/facturation/").content.decode()
    assert "1\u202f890,00\u00a0€" in body
    assert personas.alice_patient.code in body and "MOREAU Jeanne" in body


def test_it_prints_the_note_dhonoraires(personas, login, tmp_path):
    sheet = make_care_sheet(
        personas.alice_patient, personas.alice, amount=Decimal("1890.00"), acts="G + MCG", paid=True
    )
    r = login(personas.alice).get(f"/facturation/{sheet.public_id}/note-honoraires.pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    pdf = tmp_path / "note.pdf"
    pdf.write_bytes(r.content)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Note d'honoraires" in text
    assert "MOREAU Jeanne" in text and "G + MCG" in text
    assert "1 890,00 €" in text.replace("\u00a0", " ")
    assert "acquittée" in text
    event = Event.objects.get(action=Ev.RECEIPT_ISSUED)
    assert event.patient_id == personas.alice_patient.pk
    # The file's metadata name no one.
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "MOREAU" not in info.upper()


def test_it_never_gives_the_billing_clerk_a_note_with_a_name(personas, login):
    sheet = make_care_sheet(personas.alice_patient, personas.alice)
    assert login(personas.fabien).get(f"/facturation/{sheet.public_id}/note-honoraires.pdf").status_code == 403
    assert "note-honoraires" not in login(personas.fabien).get("/facturation/").content.decode()


def test_it_adds_a_usual_act_and_fills_the_care_sheet_with_it(personas, login):
    client = login(personas.fabien)
    r = client.post("/facturation/actes-habituels/", {"practitioner": str(personas.alice.public_id), "acts": "G",
                                                      "amount": "30,00"})
    assert r.status_code == 302
    favourite = personas.alice.favourite_acts.get()
    assert favourite.amount == Decimal("30.00")
    assert Event.objects.filter(action=Ev.FAVOURITE_ACT_ADDED).count() == 1
    assert "G — 30,00" in client.get("/facturation/nouvelle/").content.decode()
    r = client.post("/facturation/nouvelle/", {
        "patient": personas.alice_patient.code, "practitioner": str(personas.alice.public_id),
        "date": timezone.localdate().strftime("%d/%m/%Y"), "favourite": str(favourite.public_id),
        "acts": "", "amount": "",
    })
    assert r.status_code == 302
    sheet = CareSheet.objects.get()
    assert (sheet.acts, sheet.amount) == ("G", Decimal("30.00"))


def test_it_refuses_another_practitioners_usual_act(personas, login):
    personas.fabien.assists.add(personas.bob)
    bobs = actions.add_favourite(actor=personas.bob, practitioner=personas.bob, acts="C", amount=Decimal("26.5"))
    r = login(personas.fabien).post("/facturation/nouvelle/", {
        "patient": personas.alice_patient.code, "practitioner": str(personas.alice.public_id),
        "date": timezone.localdate().strftime("%d/%m/%Y"), "favourite": str(bobs.public_id), "acts": "", "amount": "",
    })
    assert r.status_code == 200
    assert "acte habituel est celui d'un autre praticien" in html.unescape(r.content.decode())
    assert not CareSheet.objects.exists()


def test_it_refuses_bad_usual_acts_in_french(personas, login):
    client = login(personas.alice)
    base = {"practitioner": str(personas.alice.public_id), "acts": "G", "amount": "30"}
    client.post("/facturation/actes-habituels/", base)
    for overrides, message in [
        ({"acts": ""}, "Indiquez les actes"),
        ({"amount": "douze"}, "Montant invalide"),
        ({}, "figure déjà"),
        ({"practitioner": str(personas.bob.public_id)}, "Choix invalide"),
    ]:
        r = client.post("/facturation/actes-habituels/", {**base, **overrides})
        assert r.status_code == 200, overrides
        assert message in r.content.decode(), overrides
    assert personas.alice.favourite_acts.count() == 1


def test_it_removes_a_usual_act_within_the_scope_only(personas, login):
    favourite = actions.add_favourite(actor=personas.alice, practitioner=personas.alice, acts="G", amount=Decimal(30))
    url = f"/facturation/actes-habituels/{favourite.public_id}/retirer/"
    assert login(personas.bob).post(url).status_code == 404
    assert login(personas.fabien).post(url).status_code == 302
    assert not personas.alice.favourite_acts.exists()
    assert Event.objects.filter(action=Ev.FAVOURITE_ACT_REMOVED).count() == 1
