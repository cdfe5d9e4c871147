"""End of contract and end of replacement: access stops at once (CNIL, habilitations)."""

from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hygie.access.policy import Role
from hygie.accounts import actions
from tests.accounts.flows import is_signed_in, sign_in, submit_password
from tests.factories import PASSWORD, make_replacement, make_user

WRONG = "L'identifiant ou le mot de passe est incorrect."


def _errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def test_it_ends_the_sessions_of_a_deactivated_user_at_once(personas, login):
    client = login(personas.sophie)
    assert client.get("/patients/").status_code == 200

    actions.deactivate(actor=personas.adam, user=personas.sophie)

    r = client.get("/patients/")
    assert r.status_code == 302 and r["Location"].startswith(reverse("account_login"))
    assert not is_signed_in(client)


def test_it_refuses_a_deactivated_user_with_the_wrong_password_answer(personas, client):
    actions.deactivate(actor=personas.adam, user=personas.sophie)
    r = submit_password(client, "sophie", PASSWORD)  # the right password
    assert r.status_code == 200
    assert _errors(r) == [WRONG]
    assert not is_signed_in(client)
    assert "inactive" not in r.content.decode().lower()


def test_it_lets_a_reactivated_user_sign_in_again(personas, client):
    actions.deactivate(actor=personas.adam, user=personas.sophie)
    actions.reactivate(actor=personas.adam, user=personas.sophie)
    assert sign_in(client, personas.sophie).status_code == 302
    assert is_signed_in(client)


def test_it_refuses_a_remplacant_outside_their_replacement(personas, client):
    late = make_user("luc", Role.REMPLACANT)
    make_replacement(late, personas.alice, active=False)
    r = submit_password(client, "luc", PASSWORD)
    assert r.status_code == 200
    assert _errors(r) == [WRONG]


def test_it_refuses_a_remplacant_before_their_replacement_starts(personas, client):
    early = make_user("lea", Role.REMPLACANT)
    now = timezone.now()
    early.replacements.create(
        titulaire=personas.alice, starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=9)
    )
    r = submit_password(client, "lea", PASSWORD)
    assert _errors(r) == [WRONG]


def test_it_lets_a_remplacant_sign_in_during_their_replacement(personas, client):
    assert sign_in(client, personas.remi).status_code == 302
    assert client.get("/").status_code == 200


def test_it_ends_the_remplacants_session_when_the_replacement_ends(personas):
    client = Client()
    sign_in(client, personas.remi)
    assert client.get("/patients/").status_code == 200

    personas.remi.replacements.update(ends_at=timezone.now() - timedelta(seconds=1))

    r = client.get("/patients/")
    assert r.status_code == 302 and r["Location"].startswith(reverse("account_login"))
    assert not is_signed_in(client)


def test_it_does_not_revive_an_ended_session_with_a_new_replacement(personas):
    client = Client()
    sign_in(client, personas.remi)
    personas.remi.replacements.update(ends_at=timezone.now() - timedelta(seconds=1))
    client.get("/")
    make_replacement(personas.remi, personas.bob)
    assert client.get("/patients/").status_code == 302
