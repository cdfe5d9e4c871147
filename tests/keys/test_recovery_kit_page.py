"""The recovery kit page: admin and referent only, after re-authentication, journaled."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from allauth.mfa.models import Authenticator

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.keys import service
from tests.accounts.flows import reauthenticate

URL = "/cles/kit-de-recuperation/"


def test_it_refuses_other_roles(personas, login):
    for user in (personas.alice, personas.remi, personas.sophie, personas.fabien):
        assert login(user).get(URL).status_code == 403


def test_it_asks_to_reauthenticate_first(personas, login):
    r = login(personas.adam).post(URL, {"format": "txt"})
    assert r.status_code == 302 and "/auth/reauthenticate/" in r["Location"]
    assert not Event.objects.filter(action=Ev.RECOVERY_KIT_GENERATED).exists()


def _reauthenticated(client):
    assert reauthenticate(client).status_code == 302
    return client


@pytest.mark.parametrize("user", ["adam", "regine"])
def test_it_hands_out_the_kit_after_reauthentication(user, personas, login, tmp_path):
    client = _reauthenticated(login(getattr(personas, user)))
    r = client.post(URL, {"format": "pdf"})
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert "attachment" in r["Content-Disposition"] and r["Cache-Control"] == "no-store"
    event = Event.objects.get(action=Ev.RECOVERY_KIT_GENERATED)
    assert event.actor == getattr(personas, user) and event.details["format"] == "pdf"
    if shutil.which("pdftotext"):
        pdf = tmp_path / "kit.pdf"
        pdf.write_bytes(r.content)
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert service.material().primary_kek in text and "L01" in text


def test_totp_secrets_are_encrypted_at_rest(personas):
    totp = Authenticator.objects.get(user=personas.alice, type=Authenticator.Type.TOTP)
    assert totp.data["secret"].startswith("hy1:")
    from allauth.mfa.utils import decrypt

    secret = decrypt(totp.data["secret"])
    assert len(secret) == 32 and secret not in totp.data["secret"]
