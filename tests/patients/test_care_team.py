from datetime import timedelta

from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.patients.models import BreakGlassAccess, CareTeamMember


def _url(patient):
    return f"/patients/{patient.public_id}/equipe/"


def _team(patient):
    return set(CareTeamMember.objects.filter(patient=patient).values_list("practitioner__username", flat=True))


def _post(client, patient, operation, practitioner):
    return client.post(_url(patient), {"operation": operation, "practitioner": str(practitioner.public_id)})


def test_it_redirects_anonymous_to_login(personas, client):
    r = _post(client, personas.alice_patient, "add", personas.bob)
    assert r.status_code == 302
    assert "/auth/login/" in r["Location"]
    assert _team(personas.alice_patient) == {"alice"}


def test_it_only_accepts_post(personas, login):
    assert login(personas.alice).get(_url(personas.alice_patient)).status_code == 405


def test_it_hides_other_patienteles(personas, login):
    assert _post(login(personas.bob), personas.alice_patient, "add", personas.bob).status_code == 404
    assert _team(personas.alice_patient) == {"alice"}


def test_it_refuses_roles_without_care_team_edit(personas, login):
    for user in (personas.remi, personas.sophie, personas.fabien):
        assert _post(login(user), personas.alice_patient, "add", personas.bob).status_code == 403
    for user in (personas.regine, personas.adam):
        assert _post(login(user), personas.alice_patient, "add", personas.bob).status_code == 404
    assert _team(personas.alice_patient) == {"alice"}


def test_it_adds_and_removes_a_titulaire(personas, login):
    patient = personas.alice_patient
    client = login(personas.alice)
    r = _post(client, patient, "add", personas.bob)
    assert r.status_code == 302
    assert _team(patient) == {"alice", "bob"}
    assert Event.objects.get(action=Ev.CARE_TEAM_ADDED).details == {"practitioner": personas.bob.pk}
    assert login(personas.bob).get(f"/patients/{patient.public_id}/").status_code == 200
    client = login(personas.alice)
    _post(client, patient, "remove", personas.bob)
    assert _team(patient) == {"alice"}
    assert Event.objects.filter(action=Ev.CARE_TEAM_REMOVED, patient_id=patient.pk).count() == 1


def test_it_refuses_non_titulaires_and_the_last_member(personas, login):
    client = login(personas.alice)
    r = _post(client, personas.alice_patient, "add", personas.remi)
    assert r.status_code == 302
    r = _post(client, personas.alice_patient, "remove", personas.alice)
    page = client.get(r["Location"]).content.decode()
    assert "au moins un praticien" in page
    assert _team(personas.alice_patient) == {"alice"}
    assert not Event.objects.filter(action__startswith="patient:careteam").exists()


def test_it_sends_a_titulaire_who_leaves_the_team_back_to_the_list(personas, login):
    client = login(personas.alice)
    _post(client, personas.alice_patient, "add", personas.bob)
    r = _post(client, personas.alice_patient, "remove", personas.alice)
    assert r["Location"] == "/patients/"
    assert client.get(f"/patients/{personas.alice_patient.public_id}/").status_code == 404


def test_it_refuses_to_join_through_break_the_glass(personas, login):
    BreakGlassAccess.objects.create(user=personas.bob, patient=personas.alice_patient, reason="Urgence vitale",
                                    expires_at=timezone.now() + timedelta(hours=1))
    assert _post(login(personas.bob), personas.alice_patient, "add", personas.bob).status_code == 403
    assert _team(personas.alice_patient) == {"alice"}
