"""The checklist page (everyone reads; admin and referent edit), training, the score's trend,
the dashboard line, `hygie checklist --json` and the daily jobs."""

from __future__ import annotations

import html
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.checklist import actions, board, catalogue, jobs
from hygie.checklist.models import ScoreRecord, Training
from tests.checklist.conftest import item

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("who", ["alice", "remi", "sophie", "fabien", "regine", "adam"])
def test_everyone_reads_the_checklist_only_admin_and_referent_edit(personas, login, who):
    page = login(getattr(personas, who)).get(reverse("checklist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Sécurité du cabinet" in html and "Wi-Fi sécurisé (WPA2/3)" in html
    editor = who in ("regine", "adam")
    assert ("Enregistrer une formation" in html) is editor
    assert (reverse("checklist_declare") in html) is editor


def test_the_page_shows_score_next_steps_by_risk_and_why(personas, login):
    html = login(personas.alice).get(reverse("checklist")).content.decode()
    state = board.evaluate()
    assert f"<strong>{state.score}</strong>/100" in html
    first = state.next_steps[0]
    assert first.item.risk == 3
    assert html.index("À faire ensuite") < html.index(str(first.item.label))
    assert str(catalogue.BY_ID["carte-cps"].why).replace("'", "&#x27;") in html


def test_the_trend_compares_with_the_score_of_a_month_ago(personas, login):
    today = timezone.localdate()
    actions.record_score(score=10, counts={}, day=today - timedelta(days=40))
    actions.record_score(score=20, counts={}, day=today - timedelta(days=25))
    actions.record_score(score=30, counts={}, day=today - timedelta(days=1))
    state = board.evaluate()
    assert state.previous.score == 20 and state.trend == state.score - 20
    assert [r.score for r in state.history] == [30, 20, 10]
    html = login(personas.regine).get(reverse("checklist")).content.decode()
    assert f"depuis le {today - timedelta(days=25):%d/%m/%Y}" in html


def test_without_a_score_this_month_the_trend_compares_with_the_latest_one():
    today = timezone.localdate()
    assert board.evaluate().previous is None and board.evaluate().trend is None
    actions.record_score(score=10, counts={}, day=today - timedelta(days=60))
    actions.record_score(score=15, counts={}, day=today - timedelta(days=45))
    state = board.evaluate(history=False)
    assert state.previous.score == 15 and state.previous.day == today - timedelta(days=45)
    assert state.trend == state.score - 15 and state.history == []


def test_it_records_training_and_reminds_yearly(personas, login):
    client = login(personas.regine)
    today = timezone.localdate()
    response = client.post(reverse("checklist_training"), {
        "person": str(personas.sophie.public_id), "course": "secnumacademie", "followed_on": today.isoformat(),
    })
    assert response.status_code == 302
    training = Training.objects.get()
    assert training.person == personas.sophie and training.recorded_by == personas.regine
    event = Event.objects.get(action=Ev.TRAINING_RECORDED)
    assert event.details["course"] == "secnumacademie"
    state = board.evaluate()
    assert item(state, "formation").status == "todo"
    assert personas.sophie not in state.due_training and personas.alice in state.due_training
    html = client.get(reverse("checklist")).content.decode()
    assert "Rappel annuel" in html and "MOOC SecNumacadémie (ANSSI)" in html


@pytest.mark.parametrize(("data", "message"), [
    ({"course": "interne"}, "Indiquez l'intitulé"),
    ({"followed_on": "2999-01-01"}, "ne peut pas être dans le futur"),
    ({"person": "00000000-0000-0000-0000-000000000000"}, "Choix invalide"),
])
def test_it_refuses_bad_training_input_and_changes_nothing(personas, login, data, message):
    values = {"person": str(personas.sophie.public_id), "course": "senscyber",
              "followed_on": timezone.localdate().isoformat(), **data}
    response = login(personas.adam).post(reverse("checklist_training"), values)
    assert response.status_code == 200 and message in html.unescape(response.content.decode())
    assert not Training.objects.exists() and not Event.objects.filter(action=Ev.TRAINING_RECORDED).exists()


def test_a_secretary_cannot_declare_nor_record_training(personas, login):
    client = login(personas.sophie)
    assert client.post(reverse("checklist_declare"), {"item": "wifi"}).status_code == 403
    assert client.post(reverse("checklist_training"), {}).status_code == 403


def test_the_dashboard_shows_the_score_and_the_oldest_thing_to_do(personas, login):
    html = login(personas.fabien).get(reverse("dashboard")).content.decode()
    state = board.evaluate()
    assert 'id="checklist-panel"' in html
    assert f"<strong>{state.score}</strong>/100" in html
    assert f"#item-{state.oldest.item.id}" in html


def test_checklist_json_keeps_its_contract(personas, capsys):
    call_command("checklist", "--json")
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data["score"], int) and 0 <= data["score"] <= 100
    assert [i["id"] for i in data["items"]] == [i.id for i in catalogue.ITEMS]
    for entry in data["items"]:
        assert {"id", "label", "source", "status", "computed"} <= set(entry)
        assert entry["status"] in ("ok", "todo", "unknown") and isinstance(entry["computed"], bool)
    computed = {i["id"]: i["computed"] for i in data["items"]}
    assert computed["second-facteur"] is True and computed["wifi"] is False


def test_checklist_text_output(personas, capsys):
    call_command("checklist")
    out = capsys.readouterr().out
    assert "Score de sécurité :" in out and "À faire ensuite :" in out


def test_the_daily_job_records_the_score_once_a_day(personas):
    jobs.record_score()
    jobs.record_score()
    record = ScoreRecord.objects.get()
    assert record.day == timezone.localdate() and record.score == board.evaluate().score
    assert Event.objects.filter(action=Ev.CHECKLIST_SCORED).count() == 2
