import re
from datetime import date

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.patients.models import Patient
from hygie.patients.search import search
from tests.factories import make_patient

URL = "/patients/recherche/"


def _search(client, q):
    return client.post(URL, {"q": q}, follow=True)


def test_it_redirects_anonymous_to_login(client, db):
    r = client.post(URL, {"q": "moreau"})
    assert r.status_code == 302
    assert "/auth/login/" in r["Location"]


def test_it_refuses_roles_without_patient_list(personas, login):
    for user in (personas.fabien, personas.regine, personas.adam):
        assert _search(login(user), "moreau").status_code == 403


def test_it_only_accepts_post_so_names_stay_out_of_urls(personas, login):
    client = login(personas.alice)
    assert client.get(URL, {"q": "moreau"}).status_code == 405
    page = client.get("/patients/").content.decode()
    assert re.search(r'<form method="post" action="/patients/recherche/"', page)


def test_it_finds_accented_names_case_insensitively(personas, login):
    make_patient(personas.alice, birth_name="Dupônt", first_names="Élise")
    body = _search(login(personas.alice), "dupont").content.decode()
    assert "DUPÔNT Élise" in body
    assert "MOREAU" not in body


def test_it_finds_by_two_letter_prefix_of_any_name(personas, login):
    make_patient(personas.alice, birth_name="Dupont", usage_name="Lévy", first_names="Anne")
    client = login(personas.alice)
    assert "MOREAU Jeanne" in _search(client, "mo").content.decode()
    assert "MOREAU Jeanne" in _search(client, "JE").content.decode()
    assert "LÉVY Anne" in _search(client, "lev").content.decode()
    assert "LÉVY Anne" in _search(client, "dup").content.decode()


def test_it_folds_every_name_word_not_just_the_full_name(personas, login):
    make_patient(personas.alice, birth_name="Dupont", first_names="Marie Élise")
    client = login(personas.alice)
    assert "DUPONT Marie Élise" in _search(client, "elise").content.decode()
    assert "DUPONT Marie Élise" in _search(client, "ÉLISE dup").content.decode()


def test_it_refuses_a_single_letter(personas, login):
    r = _search(login(personas.alice), "m")
    assert r.status_code == 200
    body = r.content.decode()
    assert "au moins 2 lettres" in body
    assert "MOREAU Jeanne" not in body
    assert not Event.objects.filter(action=Ev.PATIENT_SEARCHED).exists()


def test_it_finds_by_full_name_in_either_order(personas, login):
    client = login(personas.alice)
    for q in ("Jeanne Moreau", "moreau jeanne", "moreaujea"):
        assert "MOREAU Jeanne" in _search(client, q).content.decode(), q
    assert "MOREAU Jeanne" not in _search(client, "moreau pierre").content.decode()


def test_it_finds_by_birth_date_and_ins(personas, login):
    make_patient(personas.alice, birth_name="Petit", first_names="Paul", birth_date=date(1975, 3, 2),
                 ins="175037512345643")
    client = login(personas.alice)
    body = _search(client, "17/05/1980").content.decode()
    assert "MOREAU Jeanne" in body and "PETIT" not in body
    assert "PETIT Paul" in _search(client, "1975-03-02").content.decode()
    assert "PETIT Paul" in _search(client, "1 75 03 75 123 456 43").content.decode()
    assert "PETIT Paul" not in _search(client, "1 75 03 75 123 456 44").content.decode()
    assert "MOREAU Jeanne" not in _search(client, "moreau 18/05/1980").content.decode()


def test_it_searches_only_within_scope(personas, login):
    assert "BERNARD" not in _search(login(personas.alice), "bernard").content.decode()
    assert "BERNARD Louis" in _search(login(personas.bob), "bernard").content.decode()


def test_it_keeps_the_query_out_of_urls_and_the_journal(personas, login):
    make_patient(personas.alice, birth_name="Dupônt", first_names="Élise")
    r = _search(login(personas.alice), "dupont")
    hrefs = re.findall(r'(?:href|action)="([^"]*)"', r.content.decode())
    assert hrefs and not any("dup" in h.lower() for h in hrefs)
    assert r.redirect_chain and not any("dup" in url.lower() for url, _ in r.redirect_chain)
    event = Event.objects.get(action=Ev.PATIENT_SEARCHED, actor=personas.alice)
    assert event.details == {"results": 1, "more": False}
    assert "dup" not in repr(list(Event.objects.values())).lower()


def test_it_matches_in_python_over_the_given_queryset(personas):
    make_patient(personas.alice, birth_name="Dupônt-Lévy", first_names="Marie Anne")
    found = search(Patient.objects.all(), "dupont levy")
    assert [p.birth_name for p in found] == ["Dupônt-Lévy"]
    assert search(Patient.objects.all(), "") == []
    assert search(Patient.objects.all(), "x") == []
    assert search(Patient.objects.none(), "dupont") == []
