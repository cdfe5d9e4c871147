"""An exercise runs the switch's own steps in simulation: what would be cut is counted (open
sessions, logins refused, backup destinations stopped), each step timed, marked EXERCICE
everywhere, and nobody is locked out."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from hygie.audit.events import Ev
from hygie.audit.models import Alert, Event
from hygie.audit.verify import verify
from hygie.backups.models import Target, TargetKind
from hygie.incidents import actions
from hygie.incidents import lockdown as state
from hygie.incidents.models import Entry, Lockdown
from tests.accounts.flows import submit_password

BACKEND = "hygie.accounts.backends.HygieBackend"


@pytest.fixture
def exercise(personas):
    return actions.start_exercise(actor=personas.regine, scenario="rancongiciel")


@pytest.fixture
def signed_in(personas):
    """alice and bob each with an open session; sophie twice (two browsers)."""
    clients = []
    for user in (personas.alice, personas.bob, personas.sophie, personas.sophie):
        c = Client()
        c.force_login(user, backend=BACKEND)
        clients.append(c)
    return clients


@pytest.fixture
def destinations(tmp_path):
    Target.objects.create(name="Disque USB", kind=TargetKind.DIRECTORY, config={"path": str(tmp_path)})
    Target.objects.create(name="NAS", kind=TargetKind.SFTP, config={"host": "nas.local"})
    Target.objects.create(name="S3 verrouillé", kind=TargetKind.S3, config={"bucket": "b", "lock_days": 30})
    Target.objects.create(name="Ancien disque", kind=TargetKind.DIRECTORY, enabled=False, config={"path": "/x"})


def test_the_simulated_switch_counts_what_it_would_cut_and_times_each_step(personas, exercise, signed_in,
                                                                          destinations):
    epochs = dict((u.pk, u.session_epoch) for u in personas.all().values())
    row = actions.simulate_lockdown(actor=personas.regine, incident=exercise)

    steps = {s["key"]: s for s in row.steps}
    assert list(steps) == ["sessions", "logins", "downloads", "backups", "alert"]
    assert steps["sessions"]["count"] == 4
    assert steps["sessions"]["effect"] == "sessions ouvertes : 4 (comptes : 3)"
    assert steps["logins"]["count"] == 7
    assert steps["backups"]["count"] == 2 and steps["backups"]["items"] == ["Disque USB", "NAS"]
    assert "S3 verrouillé" in steps["backups"]["effect"]
    assert all(isinstance(s["ms"], float) and s["ms"] >= 0 for s in row.steps)
    assert row.exercise and row.incident == exercise and all(s["phase"] == "lockdown" for s in row.steps)

    # Nobody is locked out: no epoch moved, every session still works, logins go on.
    assert not state.is_active() and state.current() is None
    assert {u.pk: u.session_epoch for u in personas.all().values()} == {
        pk: personas_epoch for pk, personas_epoch in epochs.items()}
    for c in signed_in:
        assert c.get(reverse("dashboard")).status_code == 200
    assert submit_password(Client(), "bob")["Location"] == reverse("mfa_authenticate")
    assert not Event.objects.filter(action__in=[Ev.LOCKDOWN_STARTED, Ev.LOCKDOWN_REFUSED]).exists()
    assert not Alert.objects.exists()


def test_it_is_marked_exercice_in_the_timeline_and_the_journal(personas, exercise, signed_in):
    actions.simulate_lockdown(actor=personas.regine, incident=exercise)
    entry = Entry.objects.get(incident=exercise, step="isolate")
    assert entry.text.startswith("EXERCICE") and "fermées : 4 sessions" in entry.text
    assert entry.seconds is not None
    event = Event.objects.get(action=Ev.EXERCISE_STEP, details__step="isolate")
    assert event.details["simulated"] is True and event.details["sessions"] == 4
    assert set(event.details["ms"]) == {"sessions", "logins", "downloads", "backups", "alert"}
    assert "Rançongiciel" not in str(event.details)  # no incident text in the journal

    actions.simulate_lift(actor=personas.regine, incident=exercise)
    row = Lockdown.objects.get()
    assert row.lifted_at is not None
    assert [s["key"] for s in row.steps if s["phase"] == "lift"] == ["confirm", "crisis", "restore"]
    assert Entry.objects.get(incident=exercise, step="lift").text.startswith("EXERCICE")
    durations = actions.end_exercise(actor=personas.regine, incident=exercise)
    assert {"isolate", "lift", "total"} <= set(durations)
    assert verify().ok


def test_it_refuses_a_simulation_outside_an_exercise_or_twice(personas, exercise):
    real = actions.open_incident(actor=personas.regine, title="Vol", discovered_at=exercise.aware_at,
                                 aware_at=exercise.aware_at)
    with pytest.raises(actions.ActionError, match="que dans un exercice"):
        actions.simulate_lockdown(actor=personas.regine, incident=real)
    with pytest.raises(actions.ActionError, match="Simulez d'abord"):
        actions.simulate_lift(actor=personas.regine, incident=exercise)
    actions.simulate_lockdown(actor=personas.regine, incident=exercise)
    with pytest.raises(actions.ActionError, match="déjà été simulé"):
        actions.simulate_lockdown(actor=personas.regine, incident=exercise)
    actions.simulate_lift(actor=personas.regine, incident=exercise)
    with pytest.raises(actions.ActionError, match="déjà été simulée"):
        actions.simulate_lift(actor=personas.regine, incident=exercise)
    assert Lockdown.objects.count() == 1
    with pytest.raises(actions.ActionError, match="rôle"):
        actions.simulate_lockdown(actor=personas.sophie, incident=exercise)


def test_the_exercise_page_runs_the_simulation(personas, exercise, login, signed_in):
    client = login(personas.regine)
    url = reverse("incident_detail", kwargs={"public_id": exercise.public_id})
    response = client.post(reverse("incident_drill", kwargs={"public_id": exercise.public_id}))
    assert response.status_code == 302 and response["Location"] == url + "#drill"
    page = client.get(url).content.decode()
    assert 'id="drill-steps"' in page and "EXERCICE — isolement simulé" in page
    assert "Fermer toutes les sessions" in page and " ms)" in page
    assert 'id="drill-lift"' in page and 'id="drill-isolate"' not in page
    client.post(reverse("incident_drill_lift", kwargs={"public_id": exercise.public_id}))
    page = client.get(url).content.decode()
    assert "levée simulée" in page and "Rétablir le service" in page and 'id="drill-lift"' not in page
    # The simulated switch is no lockdown: the incident page's history and the banner ignore it.
    home = client.get(reverse("incidents")).content.decode()
    assert "Hygie est isolé" not in home
    assert signed_in[0].get(reverse("patient_list")).status_code == 200
