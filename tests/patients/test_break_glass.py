from datetime import timedelta

from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.patients.models import BreakGlassAccess

SEARCH = "/patients/acces-exceptionnel/"
REASON = "Patient inconscient amené au cabinet, médecin traitant absent"


def _open(patient):
    return f"/patients/acces-exceptionnel/{patient.public_id}/"


def _detail(patient):
    return f"/patients/{patient.public_id}/"


def test_it_redirects_anonymous_to_login(personas, client):
    for url in (SEARCH, _open(personas.alice_patient)):
        r = client.get(url)
        assert r.status_code == 302
        assert "/auth/login/" in r["Location"]


def test_it_is_for_titulaires_only(personas, login):
    for user in (personas.remi, personas.sophie, personas.fabien, personas.regine, personas.adam):
        client = login(user)
        assert client.get(SEARCH).status_code == 403
        assert client.post(SEARCH, {"q": "moreau"}).status_code == 403
        assert client.post(_open(personas.alice_patient), {"reason": REASON}).status_code == 403
    assert not BreakGlassAccess.objects.exists()


def test_it_says_only_that_a_record_matches_until_the_reason_is_given(personas, login):
    personas.alice_patient.phone = "0699999999"
    personas.alice_patient.save()
    client = login(personas.bob)
    assert client.get(SEARCH).status_code == 200
    r = client.post(SEARCH, {"q": "moreau 17/05/1980"})
    body = r.content.decode()
    assert "Un dossier correspond." in body
    # Nothing that tells who it is: no name, no birth year (but the one typed), no code.
    for revealing in ("MOREAU", "Jeanne", "0699999999", personas.alice_patient.code, "Année de naissance"):
        assert revealing not in body, revealing
    assert body.count("1980") == 1  # the search box, as typed
    assert _open(personas.alice_patient) in body
    # Journaled, counts only.
    event = Event.objects.get(action=Ev.PATIENT_SEARCHED, actor=personas.bob)
    assert event.details == {"results": 1, "more": False, "break_glass": True} and event.patient_id is None
    assert "moreau" not in repr(event.details).lower() and event.reason == ""


def test_it_counts_several_matches_without_telling_them_apart(personas, login):
    from tests.factories import make_patient

    make_patient(personas.alice, birth_name="Moreau", first_names="Paul", birth_date=personas.alice_patient.birth_date)
    body = login(personas.bob).post(SEARCH, {"q": "moreau 17/05/1980"}).content.decode()
    assert "2 dossiers correspondent." in body
    assert "Jeanne" not in body and "Paul" not in body
    assert "Ouvrir le dossier n° 1 avec un motif" in body and "Ouvrir le dossier n° 2 avec un motif" in body


def test_the_reason_page_names_no_one_and_is_journaled(personas, login):
    patient = personas.alice_patient
    body = login(personas.bob).get(_open(patient)).content.decode()
    for revealing in ("MOREAU", "Moreau", "Jeanne", "1980", patient.code):
        assert revealing not in body, revealing
    event = Event.objects.get(action=Ev.BREAK_GLASS_REQUESTED)
    assert event.actor == personas.bob and event.patient_id == patient.pk and event.details == {}
    assert not BreakGlassAccess.objects.exists()


def test_it_needs_a_name_and_a_birth_date_outside_the_care_team(personas, login):
    client = login(personas.bob)
    for query in ("moreau", "mo", "17/05/1980"):
        r = client.post(SEARCH, {"q": query})
        assert r.status_code == 200
        assert _open(personas.alice_patient) not in r.content.decode()
        assert "date de naissance" in r.content.decode()
    assert not Event.objects.filter(action=Ev.PATIENT_SEARCHED).exists()


def test_it_answers_404_for_an_unknown_patient(personas, login):
    r = login(personas.bob).get("/patients/acces-exceptionnel/00000000-0000-0000-0000-000000000000/")
    assert r.status_code == 404


def test_it_asks_for_a_reason_of_ten_characters(personas, login):
    client = login(personas.bob)
    assert client.get(_open(personas.alice_patient)).status_code == 200
    for reason in ("", "urgence", "   court   "):
        r = client.post(_open(personas.alice_patient), {"reason": reason})
        assert r.status_code == 200
        assert "motif" in r.content.decode().lower()
    assert not BreakGlassAccess.objects.exists()
    assert client.get(_detail(personas.alice_patient)).status_code == 404


def test_it_opens_a_time_limited_access_with_a_trace(personas, login, settings):
    settings.BREAK_GLASS_HOURS = 6
    client = login(personas.bob)
    before = timezone.now()
    r = client.post(_open(personas.alice_patient), {"reason": REASON})
    assert r.status_code == 302
    assert r["Location"] == _detail(personas.alice_patient)
    access = BreakGlassAccess.objects.get()
    assert access.user == personas.bob and access.patient == personas.alice_patient
    assert access.reason == REASON
    assert before + timedelta(hours=6) <= access.expires_at <= timezone.now() + timedelta(hours=6)
    event = Event.objects.get(action=Ev.BREAK_GLASS, actor=personas.bob)
    # The typed reason stays in the encrypted access row; the event points to it.
    assert event.reason == "" and REASON not in repr(event.details)
    assert event.details["access"] == str(access.public_id)
    assert event.patient_id == personas.alice_patient.pk
    page = client.get(_detail(personas.alice_patient))
    assert page.status_code == 200
    assert "Accès exceptionnel" in page.content.decode()
    viewed = Event.objects.get(action=Ev.PATIENT_VIEWED, actor=personas.bob)
    assert viewed.details["break_glass"] is True


def test_it_closes_when_the_access_expires(personas, login):
    BreakGlassAccess.objects.create(user=personas.bob, patient=personas.alice_patient, reason=REASON,
                                    expires_at=timezone.now() - timedelta(minutes=1))
    assert login(personas.bob).get(_detail(personas.alice_patient)).status_code == 404


def test_it_just_redirects_for_a_patient_already_in_scope(personas, login):
    client = login(personas.alice)
    url = _open(personas.alice_patient)
    for r in (client.get(url), client.post(url, {"reason": REASON})):
        assert r.status_code == 302
        assert r["Location"] == _detail(personas.alice_patient)
    assert not BreakGlassAccess.objects.exists()
    assert not Event.objects.filter(action=Ev.BREAK_GLASS).exists()
    assert "Accès exceptionnel" not in client.get(_detail(personas.alice_patient)).content.decode()


def test_it_shows_the_reason_to_reviewers_and_in_the_patient_report(personas, login):
    login(personas.bob).post(_open(personas.alice_patient), {"reason": REASON})
    journal_page = login(personas.regine).get("/journal/")
    assert REASON in journal_page.content.decode()
    report = login(personas.alice).get(f"/journal/patients/{personas.alice_patient.public_id}/acces/")
    assert REASON in report.content.decode()
