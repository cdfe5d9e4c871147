"""The "accès au dossier" report of one patient (GDPR art. 15), as a page and as a PDF."""

from __future__ import annotations

import subprocess

import pytest
from django.urls import reverse

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.patients import actions as patient_actions
from hygie.practices.models import Practice

BREAK_GLASS_REASON = "Urgence : patient inconscient, accès aux antécédents"


@pytest.fixture
def opened(personas):
    """bob opened alice's patient with a reason; remi read the record."""
    patient_actions.open_break_glass(personas.bob, personas.alice_patient, BREAK_GLASS_REASON)
    return personas.alice_patient


def _url(patient, pdf: bool = False) -> str:
    name = "patient_access_report_pdf" if pdf else "patient_access_report"
    return reverse(name, kwargs={"public_id": patient.public_id})


def test_it_asks_anonymous_users_to_sign_in(client, personas):
    r = client.get(_url(personas.alice_patient))
    assert r.status_code == 302 and r["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("who", ["bob", "regine", "adam"])
def test_it_hides_the_patient_from_outsiders(personas, login, who):
    assert login(getattr(personas, who)).get(_url(personas.alice_patient)).status_code == 404


@pytest.mark.parametrize("who", ["sophie", "fabien"])
def test_it_is_forbidden_to_assistants(personas, login, who):
    assert login(getattr(personas, who)).get(_url(personas.alice_patient)).status_code in (403, 404)


@pytest.mark.parametrize("who", ["alice", "remi"])
def test_it_lists_who_when_what_and_why(personas, login, opened, who):
    client = login(getattr(personas, who))
    client.get(reverse("patient_detail", kwargs={"public_id": opened.public_id}))
    page = client.get(_url(opened)).content.decode()

    assert "Bob Lefèvre" in page and "Praticien titulaire" in page
    assert "Accès exceptionnel au dossier" in page
    assert "Dossier consulté" in page


def test_it_shows_break_the_glass_reasons_to_the_patients_titulaire_only(personas, login, opened, tmp_path):
    """The reason is free text, possibly clinical: the patient's titulaire reads it; the locum
    and the practitioner who reached the record through an exceptional access see it masked."""
    reason = BREAK_GLASS_REASON.replace("'", "&#x27;")
    assert reason in login(personas.alice).get(_url(opened)).content.decode()
    for who in ("remi", "bob"):
        page = login(getattr(personas, who)).get(_url(opened)).content.decode()
        assert reason not in page and "motif masqué" in page, who
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(login(personas.remi).get(_url(opened, pdf=True)).content)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Urgence" not in text and "motif masqué" in text


def test_it_journals_the_report(personas, login, opened):
    login(personas.alice).get(_url(opened))
    event = Event.objects.get(action=Ev.ACCESS_REPORT_VIEWED)
    assert event.actor == personas.alice and event.patient_id == opened.pk


def test_it_hands_out_a_pdf_with_a_neutral_name(personas, login, opened):
    Practice.objects.create(name="Cabinet des Lilas")
    r = login(personas.alice).get(_url(opened, pdf=True))

    assert r.status_code == 200
    assert r["Content-Type"] == "application/pdf"
    assert r["Content-Disposition"] == f'attachment; filename="acces-dossier-{opened.code}.pdf"'
    assert r.content.startswith(b"%PDF")


def test_it_writes_the_report_in_french_in_the_pdf(personas, login, opened, tmp_path):
    Practice.objects.create(name="Cabinet des Lilas")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(login(personas.alice).get(_url(opened, pdf=True)).content)

    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Relevé des accès à votre dossier" in text
    assert "Cabinet des Lilas" in text
    assert "MOREAU Jeanne" in text and opened.code in text
    assert "Accès exceptionnel au dossier" in text
    assert "Urgence : patient" in text and "antécédents" in text
    assert "Bob Lefèvre" in text
    assert "Établi le" in text and "Alice Durand" in text


def test_it_journals_the_export(personas, login, opened):
    login(personas.alice).get(_url(opened, pdf=True))
    event = Event.objects.get(action=Ev.ACCESS_REPORT_EXPORTED)
    assert event.actor == personas.alice and event.patient_id == opened.pk
    assert event.details["rows"] >= 1


def test_it_keeps_names_out_of_the_urls(personas, opened):
    for pdf in (False, True):
        url = _url(opened, pdf)
        assert "moreau" not in url.lower() and opened.code not in url
