"""`hygie createuser`: named accounts whose owner sets the password at first login."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from hygie.accounts.models import User
from hygie.audit.events import Ev
from hygie.audit.models import Event

PASSWORD = "Provisoire-2026!xyz"


def _create(*args: str) -> str:
    out = StringIO()
    call_command("createuser", "--no-input", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture(autouse=True)
def password(monkeypatch):
    monkeypatch.setenv("HYGIE_NEW_PASSWORD", PASSWORD)


def test_it_creates_an_account_that_must_change_its_password(personas, practice):
    out = _create(
        "--username", "dr.claude", "--role", "titulaire", "--first-name", "Claude", "--profession", "Sage-femme"
    )
    user = User.objects.get(username="dr.claude")
    assert (user.role, user.profession, user.must_change_password) == ("titulaire", "Sage-femme", True)
    assert user.check_password(PASSWORD)
    assert "créé" in out
    assert Event.objects.filter(action=Ev.USER_CREATED, target_id=str(user.pk)).exists()


def test_it_reads_the_password_from_a_file(personas, practice, tmp_path):
    path = tmp_path / "pw"
    path.write_text("Autre-Secret-2026!\n", encoding="utf-8")
    _create("--username", "zoe", "--role", "referent", "--password-file", str(path))
    assert User.objects.get(username="zoe").check_password("Autre-Secret-2026!")


def test_it_links_an_assistant_to_titulaires(personas, practice):
    _create("--username", "sec2", "--role", "secretaire", "--assists", "alice,bob")
    assert set(User.objects.get(username="sec2").assists.all()) == {personas.alice, personas.bob}


def test_it_lists_the_valid_roles_for_an_unknown_role(personas, practice):
    with pytest.raises(CommandError) as exc:
        _create("--username", "x", "--role", "docteur")
    assert "titulaire, remplacant, secretaire, facturation, referent, admin" in str(exc.value)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--username", "alice", "--role", "titulaire"], "déjà pris"),
        (["--username", "s3", "--role", "secretaire", "--assists", "sophie"], "n'est pas un praticien titulaire"),
        (["--username", "s3", "--role", "secretaire", "--assists", "inconnu"], "Aucun compte « inconnu »"),
        (["--username", "s3", "--role", "titulaire", "--assists", "alice"], "--assists ne concerne"),
    ],
)
def test_it_refuses_bad_requests_in_french(personas, practice, args, message):
    count = User.objects.count()
    with pytest.raises(CommandError, match=message):
        _create(*args)
    assert User.objects.count() == count


def test_it_refuses_a_weak_password(personas, practice, monkeypatch):
    monkeypatch.setenv("HYGIE_NEW_PASSWORD", "court")
    with pytest.raises(CommandError, match="trop faible"):
        _create("--username", "x", "--role", "admin")
    assert not User.objects.filter(username="x").exists()


def test_it_needs_a_password_without_input(personas, practice, monkeypatch):
    monkeypatch.delenv("HYGIE_NEW_PASSWORD")
    with pytest.raises(CommandError, match="HYGIE_NEW_PASSWORD"):
        _create("--username", "x", "--role", "admin")
