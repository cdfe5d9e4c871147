"""`hygie demo`: seven known accounts with working TOTP secrets; a second run changes nothing."""

from __future__ import annotations

import json
import subprocess
from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError

from hygie.accounts.models import Replacement, User
from hygie.agenda.models import Appointment
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.billing.models import CareSheet
from hygie.patients import documents
from hygie.patients.models import Consultation, Document, Patient
from hygie.practices.models import Practice

ROLES = ["titulaire", "titulaire", "remplacant", "secretaire", "facturation", "referent", "admin"]


def _demo(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("demo", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _counts() -> dict[str, int]:
    models = (Practice, User, Patient, Consultation, Document, Appointment, CareSheet, Event, Authenticator)
    return {m.__name__: m.objects.count() for m in models}


@pytest.fixture
def demo_json(db):
    out, _ = _demo("--json", "--patients", "6")
    return json.loads(out)


def test_it_prints_seven_accounts_as_json_and_nothing_else(demo_json):
    assert [a["role"] for a in demo_json] == ROLES
    assert all(set(a) == {"username", "password", "role", "totp_secret"} for a in demo_json)
    practice = Practice.current()
    assert practice.is_demo and practice.name == "Maison de santé des Tilleuls (démo)"


def test_it_creates_accounts_that_can_sign_in_without_changing_password(demo_json):
    for account in demo_json:
        user = authenticate(username=account["username"], password=account["password"])
        assert user is not None, account["username"]
        assert user.must_change_password is False


def test_it_gives_each_titulaire_patients_with_records(demo_json):
    for user in User.objects.filter(role="titulaire"):
        patients = Patient.objects.filter(care_team__practitioner=user)
        assert patients.count() == 3
        assert all(1 <= p.consultations.count() <= 5 for p in patients)
        assert Appointment.objects.filter(practitioner=user).exists()
    assert CareSheet.objects.filter(paid=False).exists()
    assert Event.objects.filter(action=Ev.PATIENT_CREATED).count() == 6
    for document in Document.objects.all():
        with documents.open_blob(document.storage_name, patient=document.patient) as blob:
            assert blob.read(5) == b"%PDF-"


def test_it_sets_up_the_replacement_and_the_assistants(demo_json):
    replacement = Replacement.objects.get()
    assert replacement.titulaire.username == "dr.martin"
    assert replacement.is_active_at()
    titulaires = set(User.objects.filter(role="titulaire"))
    for role in ("secretaire", "facturation"):
        assert set(User.objects.get(role=role).assists.all()) == titulaires


def test_it_changes_nothing_and_prints_the_same_secrets_on_a_second_run(demo_json):
    before = _counts()
    out, _ = _demo("--json")
    assert json.loads(out) == demo_json
    assert _counts() == before


def test_it_prints_a_table_of_logins_with_current_codes(demo_json):
    out, _ = _demo()
    assert "déjà en place" in out
    for account in demo_json:
        assert account["username"] in out and account["totp_secret"] in out
    assert "oathtool --totp -b" in out


def test_it_gives_totp_secrets_that_an_independent_tool_turns_into_valid_codes(demo_json):
    account = demo_json[0]
    code = subprocess.run(
        ["/usr/bin/oathtool", "--totp", "-b", account["totp_secret"]], capture_output=True, text=True, check=True
    ).stdout.strip()
    authenticator = Authenticator.objects.get(user__username=account["username"], type=Authenticator.Type.TOTP)
    assert TOTP(authenticator).validate_code(code)


def test_it_refuses_a_data_dir_with_a_real_practice(db):
    Practice.objects.create(name="Cabinet réel")
    with pytest.raises(CommandError, match="vrai cabinet") as exc:
        _demo()
    assert exc.value.returncode == 2
    assert not User.objects.exists()


def test_it_steps_aside_for_a_real_practice_with_skip_if_real(db):
    Practice.objects.create(name="Cabinet réel")
    out, err = _demo("--skip-if-real", "--json")
    assert out == ""
    assert "Un vrai cabinet" in err
    assert not User.objects.exists()
