"""Password reset by e-mail (issue 18, item 2): closed by default; when a practice turns it on,
journaled, single-use and short-lived; production refuses a backend that delivers nothing."""

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.lib import mailconfig
from tests.accounts.flows import is_signed_in, submit_password, submit_totp

ROOT = Path(__file__).resolve().parents[2]
NEW_PASSWORD = "Brume-Falaise-Gr3nat!"
RESET_URLS = [
    "/auth/password/reset/",
    "/auth/password/reset/done/",
    "/auth/password/reset/key/done/",
    "/auth/password/reset/key/1-abc-def/",
]


@pytest.fixture
def reset_on(settings):
    settings.PASSWORD_RESET_BY_EMAIL = True
    return settings


@pytest.fixture
def alice(personas):
    personas.alice.email = "alice@cabinet.example"
    personas.alice.save(update_fields=["email"])
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=personas.alice, email=personas.alice.email, primary=True, verified=True)
    return personas.alice


def _link() -> str:
    assert len(mail.outbox) == 1
    return re.search(r"https?://[^/\s]+(/auth/password/reset/key/\S+/)", mail.outbox[0].body).group(1)


def _ask(client, email):
    return client.post(reverse("account_reset_password"), {"email": email})


def _set(client, link, password=NEW_PASSWORD):
    r = client.get(link)
    if r.status_code == 302:  # allauth moves the key from the URL into the session
        link = r["Location"]
        r = client.get(link)
    return client.post(link, {"password1": password, "password2": password}), r


@pytest.mark.parametrize("url", RESET_URLS)
def test_it_is_closed_by_default(personas, client, url):
    assert client.get(url).status_code == 404
    assert client.post(url, {"email": "alice@cabinet.example"}).status_code == 404
    assert mail.outbox == []


def test_the_login_page_sends_to_the_administrator_when_closed(personas, client):
    page = client.get(reverse("account_login")).content.decode()
    assert "demandez à l'administrateur" in page
    assert "/auth/password/reset/" not in page


def test_the_login_page_links_to_the_reset_when_open(personas, client, reset_on):
    page = client.get(reverse("account_login")).content.decode()
    assert 'href="/auth/password/reset/"' in page


def test_a_request_is_journaled_with_the_account_only(alice, client, reset_on):
    r = _ask(client, "alice@cabinet.example")
    assert r.status_code == 302
    event = Event.objects.get(action=Ev.PASSWORD_RESET_REQUESTED)
    assert event.target_id == str(alice.pk) and event.actor_id is None
    assert event.details == {"known": True}
    assert "alice@cabinet.example" not in repr(list(Event.objects.values()))
    assert mail.outbox[0].to == ["alice@cabinet.example"]


def test_a_request_for_an_unknown_address_is_journaled_without_target_nor_mail(alice, client, reset_on):
    assert _ask(client, "inconnu@ailleurs.example").status_code == 302
    event = Event.objects.get(action=Ev.PASSWORD_RESET_REQUESTED)
    assert event.target_id == "" and event.details == {"known": False}
    assert "inconnu@ailleurs.example" not in repr(list(Event.objects.values()))
    assert mail.outbox == []


def test_the_link_resets_once_and_the_second_factor_is_still_asked(alice, client, reset_on):
    _ask(client, alice.email)
    link = _link()
    epoch = alice.session_epoch
    done, _ = _set(client, link)
    assert done.status_code == 302 and not is_signed_in(client)
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD) and alice.session_epoch == epoch + 1
    event = Event.objects.get(action=Ev.PASSWORD_RESET)
    assert event.target_id == str(alice.pk) and event.actor_id == alice.pk

    # The same link again: refused, the password stays.
    again, page = _set(client, link, "Autre-Falaise-Gr3nat!")
    assert "password1" not in page.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert Event.objects.filter(action=Ev.PASSWORD_RESET).count() == 1

    # The new password leads to the second factor, not straight in.
    r = submit_password(client, "alice", NEW_PASSWORD)
    assert r["Location"] == reverse("mfa_authenticate")
    submit_totp(client, alice)
    assert is_signed_in(client)


def test_the_link_expires_after_30_minutes(alice, client, reset_on, monkeypatch):
    assert reset_on.PASSWORD_RESET_TIMEOUT == 30 * 60
    _ask(client, alice.email)
    link = _link()
    # Django's token clock (naive local time, as Django reads it): 31 minutes later.
    later = datetime.now() + timedelta(minutes=31)  # noqa: DTZ005
    monkeypatch.setattr("django.contrib.auth.tokens.PasswordResetTokenGenerator._now", lambda self: later)
    _, page = _set(client, link)
    assert "password1" not in page.content.decode()
    alice.refresh_from_db()
    assert not alice.check_password(NEW_PASSWORD)
    assert not Event.objects.filter(action=Ev.PASSWORD_RESET).exists()


def test_the_new_password_follows_the_rule(alice, client, reset_on):
    _ask(client, alice.email)
    done, _ = _set(client, _link(), "Azerty123456!")
    assert done.status_code == 200 and "trop facile à deviner" in done.content.decode()
    alice.refresh_from_db()
    assert not alice.check_password("Azerty123456!")


@pytest.mark.parametrize("backend", sorted(mailconfig.NON_DELIVERING))
def test_production_refuses_a_backend_that_delivers_nothing(backend):
    problem = mailconfig.backend_problem("production", backend)
    assert problem and "HYGIE_EMAIL_BACKEND" in problem
    assert mailconfig.backend_problem("development", backend) is None


def test_production_sends_by_smtp_by_default():
    assert mailconfig.default_backend("production") == "django.core.mail.backends.smtp.EmailBackend"
    assert mailconfig.backend_problem("production", mailconfig.default_backend("production")) is None


def test_the_hygie_command_refuses_to_start_in_production_with_the_console_backend(tmp_path):
    env = dict(os.environ)
    env.update(HYGIE_ENV="production", HYGIE_DATA_DIR=str(tmp_path / "var"), HYGIE_KEY_FILE=str(tmp_path / "k.json"))
    env["HYGIE_EMAIL_BACKEND"] = "django.core.mail.backends.console.EmailBackend"
    run = subprocess.run(
        [sys.executable, "-m", "hygie.cli", "serve", "--port", "1"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 2
    assert "n'envoie aucun e-mail" in run.stderr and "production" in run.stderr
