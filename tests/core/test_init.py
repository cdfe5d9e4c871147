"""`hygie init`: keys, database, practice and first administrator; refuses a second practice."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError

from hygie.accounts.models import User
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.practices.models import Practice

PASSWORD = "Tr3s-Solide!Mot2passe"


def _init(*args: str) -> str:
    out = StringIO()
    call_command("init", "--no-input", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / "password.txt"
    path.write_text(PASSWORD + "\n", encoding="utf-8")
    return path


def _flags(password_file) -> list[str]:
    return [
        "--practice-name", "Cabinet des Lilas",
        "--admin-username", "chef",
        "--admin-first-name", "Anne",
        "--admin-last-name", "Roche",
        "--admin-password-file", str(password_file),
    ]  # fmt: skip


def test_it_creates_the_practice_and_its_administrator(db, password_file):
    out = _init(*_flags(password_file))
    practice = Practice.current()
    assert (practice.name, practice.is_demo) == ("Cabinet des Lilas", False)
    admin = User.objects.get(username="chef")
    assert admin.role == "admin"
    assert admin.check_password(PASSWORD)
    assert admin.must_change_password is False
    assert "second facteur" in out
    assert list(Event.objects.values_list("action", flat=True)) == [Ev.PRACTICE_CREATED, Ev.USER_CREATED]


def test_it_reads_the_password_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("HYGIE_ADMIN_PASSWORD", PASSWORD)
    _init("--practice-name", "Cabinet", "--admin-username", "chef")
    assert User.objects.get(username="chef").check_password(PASSWORD)


def test_it_creates_the_key_file_and_uses_it_at_once(db, password_file, tmp_path, settings):
    settings.KEY_FILE = tmp_path / "cles" / "keys.json"
    out = _init(*_flags(password_file))
    doc = json.loads(settings.KEY_FILE.read_text())
    assert "Fichier de clés créé" in out
    assert django_settings.HYGIE_FINGERPRINT_KEY == bytes.fromhex(doc["fingerprint_key"])
    assert django_settings.SECRET_KEY == doc["secret_key"]
    assert oct(settings.KEY_FILE.stat().st_mode & 0o777) == "0o600"


def test_it_refuses_a_weak_password_and_creates_nothing(db, tmp_path):
    weak = tmp_path / "weak.txt"
    weak.write_text("motdepasse", encoding="utf-8")
    with pytest.raises(CommandError, match="trop faible"):
        _init("--practice-name", "Cabinet", "--admin-username", "chef", "--admin-password-file", str(weak))
    assert not Practice.objects.exists() and not User.objects.exists()


def test_it_refuses_a_password_containing_the_name(db, tmp_path):
    personal = tmp_path / "p.txt"
    personal.write_text("Roche-Anne-2026!x", encoding="utf-8")
    with pytest.raises(CommandError, match="ne doit pas contenir"):
        _init(
            "--practice-name", "C", "--admin-username", "chef", "--admin-last-name", "Roche",
            "--admin-password-file", str(personal),
        )  # fmt: skip


def test_it_refuses_when_the_data_dir_already_has_a_practice(db, password_file):
    Practice.objects.create(name="Déjà là")
    with pytest.raises(CommandError, match="contient déjà un cabinet"):
        _init(*_flags(password_file))
    assert not User.objects.exists()


def test_it_asks_for_missing_flags_without_input(db):
    with pytest.raises(CommandError, match="--practice-name"):
        _init()


def test_it_asks_in_french_when_run_interactively(db, monkeypatch):
    answers = iter(["Cabinet des Lilas", "chef", "Anne", "Roche"])
    prompts = []
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or next(answers))
    passwords = iter(["court", "court", PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(passwords))
    err = StringIO()
    call_command("init", stdout=StringIO(), stderr=err)
    assert prompts == ["Nom du cabinet : ", "Identifiant de l'administrateur : ", "Prénom : ", "Nom : "]
    assert "trop faible" in err.getvalue()
    assert User.objects.get(username="chef").check_password(PASSWORD)
