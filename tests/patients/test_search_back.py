"""Search results behind a short-lived opaque id (POST, 303, GET): Back and reload work, no name
in a URL or the session, a patient out of reach since the search is not shown again.
Search by name plus birth year. The header's search box answers JSON as one types."""

import re
import time
from datetime import date

from django.contrib.sessions.models import Session
from django.urls import reverse

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.patients import searches
from hygie.patients.models import CareTeamMember
from tests.factories import make_patient

URL = "/patients/recherche/"


def test_it_redirects_a_search_to_its_results_with_303(personas, login):
    client = login(personas.alice)
    r = client.post(URL, {"q": "moreau"})
    assert r.status_code == 303
    assert re.fullmatch(r"/patients/recherche/[A-Za-z0-9_-]{16}/", r["Location"])
    page = client.get(r["Location"])
    assert page.status_code == 200
    assert "MOREAU Jeanne" in page.content.decode()


def test_it_shows_the_same_results_again_on_back_or_reload(personas, login):
    client = login(personas.alice)
    results = client.post(URL, {"q": "moreau"})["Location"]
    client.post(URL, {"q": "zzzz"})
    # Back to the first results: a GET, the same list, and the journal says names were shown.
    again = client.get(results)
    assert "MOREAU Jeanne" in again.content.decode()
    shown = Event.objects.filter(action=Ev.PATIENT_LISTED, actor=personas.alice).order_by("-id").first()
    assert shown.details == {"search": True, "results": 1}


def test_it_keeps_neither_the_query_nor_a_name_in_the_session(personas, login):
    make_patient(personas.alice, birth_name="Dupônt", first_names="Élise")
    client = login(personas.alice)
    client.post(URL, {"q": "dupont elise"})
    stored = "".join(s.session_data for s in Session.objects.all())
    decoded = repr([s.get_decoded() for s in Session.objects.all()]).lower()
    assert "dup" not in decoded and "elise" not in decoded
    # The stored form is signed base64: three letters can occur in it by chance (seen: "…udupid…"),
    # the whole words cannot.
    assert not any(word in stored.lower() for word in ("dupont", "dupônt", "elise", "élise"))
    assert "hygie.searches" in decoded


def test_it_does_not_show_results_of_another_session(personas, login):
    from django.test import Client

    alice = login(personas.alice)
    results = alice.post(URL, {"q": "moreau"})["Location"]
    other = Client()
    other.force_login(personas.alice, backend="hygie.accounts.backends.HygieBackend")
    r = other.get(results, follow=True)
    assert r.redirect_chain == [(reverse("patient_list"), 302)]
    assert "Cette recherche a expiré" in r.content.decode()
    assert not Event.objects.filter(action=Ev.PATIENT_LISTED, details__search=True).exists()


def test_it_forgets_results_after_their_lifetime(personas, login):
    client = login(personas.alice)
    results = client.post(URL, {"q": "moreau"})["Location"]
    session = client.session
    for entry in session[searches.SESSION_KEY].values():
        entry["at"] = time.time() - searches.SEARCH_TTL_SECONDS - 1
    session.save()
    r = client.get(results)
    assert r.status_code == 302 and r["Location"] == reverse("patient_list")


def test_it_rereads_the_results_through_the_access_module(personas, login):
    client = login(personas.alice)
    results = client.post(URL, {"q": "moreau"})["Location"]
    CareTeamMember.objects.filter(patient=personas.alice_patient).delete()
    assert "MOREAU" not in client.get(results).content.decode()


def test_it_refuses_the_results_page_to_roles_without_patient_list(personas, login):
    client = login(personas.alice)
    results = client.post(URL, {"q": "moreau"})["Location"]
    client.force_login(personas.fabien, backend="hygie.accounts.backends.HygieBackend")
    assert client.get(results).status_code == 403


def test_it_finds_by_name_and_birth_year(personas, login):
    make_patient(personas.alice, birth_name="Dupont", first_names="Paul", birth_date=date(1950, 2, 3))
    make_patient(personas.alice, birth_name="Dupont", first_names="Anne", birth_date=date(1962, 7, 1))
    client = login(personas.alice)
    body = client.post(URL, {"q": "dupont 1950"}, follow=True).content.decode()
    assert "DUPONT Paul" in body and "DUPONT Anne" not in body
    assert "DUPONT Anne" in client.post(URL, {"q": "1962 dup"}, follow=True).content.decode()
    assert "DUPONT" not in client.post(URL, {"q": "dupont 1951"}, follow=True).content.decode()


def test_it_refuses_a_birth_year_alone(personas, login):
    r = login(personas.alice).post(URL, {"q": "1980"})
    assert r.status_code == 200
    assert "au moins 2 lettres" in r.content.decode()


def test_it_answers_the_header_box_with_json_as_one_types(personas, login):
    client = login(personas.alice)
    r = client.post(URL, {"q": "mor"}, headers={"X-Requested-With": "fetch"})
    assert r.status_code == 200
    data = r.json()
    assert data["results"] == [{
        "name": "MOREAU Jeanne", "year": 1980,
        "url": reverse("patient_detail", kwargs={"public_id": personas.alice_patient.public_id}),
    }]
    assert data["more"] is False
    assert client.get(data["all_url"]).status_code == 200
    assert Event.objects.filter(action=Ev.PATIENT_SEARCHED, actor=personas.alice).count() == 1
    bad = client.post(URL, {"q": "m"}, headers={"X-Requested-With": "fetch"})
    assert bad.status_code == 400 and "au moins 2 lettres" in bad.json()["error"]


def test_it_puts_the_search_box_in_the_header_for_those_who_list_patients(personas, login):
    client = login(personas.sophie)
    page = client.get("/").content.decode()
    assert 'id="quick-search"' in page and f'action="{URL}"' in page
    client.force_login(personas.adam, backend="hygie.accounts.backends.HygieBackend")
    assert 'id="quick-search"' not in client.get("/").content.decode()
