"""Repeated failed logins lock the account for a while (CNIL: restriction after failures)."""

import pytest
from django.conf import settings
from django.urls import reverse

from hygie.audit.events import Ev, Outcome
from hygie.audit.models import Event
from tests.accounts.flows import is_signed_in, submit_password
from tests.factories import PASSWORD

WRONG = "Mauvais-Essai!{}x"


def _errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def _fail(client, username: str, times: int) -> None:
    for i in range(times):
        r = submit_password(client, username, WRONG.format(i))
        assert r.status_code == 200


def test_it_gives_the_same_answer_for_a_wrong_password_and_an_unknown_user(personas, client):
    wrong_password = _errors(submit_password(client, "alice", "Pas-Le-Bon!Mot42"))
    unknown_user = _errors(submit_password(client, "zorro", "Pas-Le-Bon!Mot42"))
    assert wrong_password == unknown_user
    assert wrong_password == ["L'identifiant ou le mot de passe est incorrect."]


def test_it_locks_the_account_after_the_allowed_failures(personas, client):
    _fail(client, "alice", settings.LOGIN_FAILURES_PER_ACCOUNT)

    r = submit_password(client, "alice", PASSWORD)  # the right password, too late
    assert r.status_code == 200
    assert "Trop de tentatives de connexion échouées" in _errors(r)[0]
    assert not is_signed_in(client)
    assert r.get("Location") != reverse("mfa_authenticate")


def test_it_does_not_lock_before_the_limit(personas, client):
    _fail(client, "alice", settings.LOGIN_FAILURES_PER_ACCOUNT - 1)
    r = submit_password(client, "alice", PASSWORD)
    assert r.status_code == 302 and r["Location"] == reverse("mfa_authenticate")


def test_it_locks_an_unknown_user_with_the_same_message(personas, client):
    _fail(client, "alice", settings.LOGIN_FAILURES_PER_ACCOUNT)
    locked_known = _errors(submit_password(client, "alice", PASSWORD))
    _fail(client, "zorro", settings.LOGIN_FAILURES_PER_ACCOUNT)
    locked_unknown = _errors(submit_password(client, "zorro", PASSWORD))
    assert locked_known == locked_unknown


def test_it_locks_per_account_not_the_whole_practice(personas, client):
    _fail(client, "alice", settings.LOGIN_FAILURES_PER_ACCOUNT)
    r = submit_password(client, "bob", PASSWORD)
    assert r.status_code == 302 and r["Location"] == reverse("mfa_authenticate")


def test_it_journals_failures_and_the_lock(personas, client):
    _fail(client, "alice", settings.LOGIN_FAILURES_PER_ACCOUNT)
    submit_password(client, "alice", PASSWORD)

    failed = Event.objects.filter(action=Ev.LOGIN_FAILED)
    assert failed.count() == settings.LOGIN_FAILURES_PER_ACCOUNT
    assert {(e.target_id, e.outcome, e.actor_id) for e in failed} == {
        (str(personas.alice.pk), Outcome.FAILURE, None)
    }
    locked = Event.objects.get(action=Ev.LOGIN_LOCKED)
    assert locked.target_id == str(personas.alice.pk)
    assert locked.outcome == Outcome.DENIED


def test_it_journals_a_failure_for_an_unknown_user_without_a_target(personas, client):
    submit_password(client, "zorro", "Pas-Le-Bon!Mot42")
    event = Event.objects.get(action=Ev.LOGIN_FAILED)
    assert event.target_id == "" and event.actor_id is None


@pytest.mark.parametrize("username", ["alice", "zorro-inconnu"])
def test_it_never_writes_what_was_typed_to_the_journal(personas, client, username):
    typed = ["Secret-Tape!1", "Secret-Tape!2", "Secret-Tape!3"]
    for password in typed:
        submit_password(client, username, password)
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        submit_password(client, username, typed[0])

    rows = list(Event.objects.values())
    assert rows, "failures must be journaled"
    dump = repr(rows)
    for secret in typed:
        assert secret not in dump
    assert "zorro" not in dump
