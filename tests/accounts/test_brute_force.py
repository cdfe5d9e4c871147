"""Repeated failed logins slow the attacker down without locking the user out (issue 18, item 5).

Per (login, address) pair the first failures are free, then each attempt waits longer; beyond
the account-wide ceiling the login wants the password and a second-factor code together.
The throttle's clock (hygie.accounts.throttle.now) is moved forward instead of sleeping.
"""

import time

import pytest
from django.conf import settings
from django.urls import reverse

from hygie.audit.events import Ev, Outcome
from hygie.audit.models import Event
from hygie.lib import loginthrottle
from tests.accounts.flows import is_signed_in, totp_clock, totp_code, totp_secret
from tests.factories import PASSWORD

WRONG = "Mauvais-Essai!{}x"
ATTACKER = "203.0.113.66"
USER_ADDRESS = "198.51.100.7"


class Clock:
    def __init__(self) -> None:
        self.at = time.time()

    def __call__(self) -> float:
        return self.at

    def forward(self, seconds: float) -> None:
        self.at += seconds


@pytest.fixture
def clock(monkeypatch, settings):
    c = Clock()
    monkeypatch.setattr("hygie.accounts.throttle.now", c)
    # allauth's own 30 logins a minute per address counts on the real clock, which these tests
    # do not move: a day of attempts happens in a few real seconds.
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "10000/m/ip"}
    return c


def post(client, username, password, address=USER_ADDRESS, code=None):
    data = {"login": username, "password": password}
    if code is not None:
        data["code"] = code
    return client.post(reverse("account_login"), data, REMOTE_ADDR=address)


def _errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def _fail(client, username: str, times: int, address: str = USER_ADDRESS) -> None:
    for i in range(times):
        r = post(client, username, WRONG.format(i), address)
        assert r.status_code == 200
        assert "incorrect" in _errors(r)[0], "each of these attempts is answered"


_step = iter(range(1, 10_000))


def code_for(user) -> tuple[str, float]:
    """A TOTP code (from oathtool) and the instant to check it at, one 30 s step per call."""
    at = (int(time.time()) // 30 + next(_step)) * 30 + 5
    return totp_code(totp_secret(user), at=at), at


def password_checks() -> int:
    """How many times a password was actually checked against an account (and was wrong)."""
    return Event.objects.filter(action=Ev.LOGIN_FAILED, details__reason__in=["password", "unknown"]).count()


def test_it_gives_the_same_answer_for_a_wrong_password_and_an_unknown_user(personas, client):
    wrong_password = _errors(post(client, "alice", "Pas-Le-Bon!Mot42"))
    unknown_user = _errors(post(client, "zorro", "Pas-Le-Bon!Mot42"))
    assert wrong_password == unknown_user
    assert wrong_password == ["L'identifiant ou le mot de passe est incorrect."]


def test_it_does_not_slow_down_before_the_limit(personas, client, clock):
    _fail(client, "alice", settings.LOGIN_FAILURES_PER_PAIR - 1)
    r = post(client, "alice", PASSWORD)
    assert r.status_code == 302 and r["Location"] == reverse("mfa_authenticate")


def test_it_makes_the_address_wait_after_the_allowed_failures(personas, client, clock):
    _fail(client, "alice", settings.LOGIN_FAILURES_PER_PAIR)

    r = post(client, "alice", PASSWORD)  # the right password, but this address must wait
    assert r.status_code == 200
    assert _errors(r) == ["Trop de tentatives de connexion échouées depuis cette adresse. Réessayez dans 1 minute."]
    assert not is_signed_in(client)

    clock.forward(31)  # the first wait is 30 seconds
    r = post(client, "alice", PASSWORD)
    assert r.status_code == 302 and r["Location"] == reverse("mfa_authenticate")


def test_each_further_failure_doubles_the_wait_up_to_the_maximum(personas, client, clock):
    _fail(client, "alice", settings.LOGIN_FAILURES_PER_PAIR)
    waits = []
    for i in range(8):
        wait = loginthrottle.pair_delay(settings.LOGIN_FAILURES_PER_PAIR + i, loginthrottle.Policy(
            pair_free=settings.LOGIN_FAILURES_PER_PAIR, pair_max_seconds=settings.LOGIN_MAX_DELAY_MINUTES * 60))
        clock.forward(wait - 1)
        assert "Trop de tentatives" in _errors(post(client, "alice", WRONG.format("x")))[0], "still waiting"
        clock.forward(1)
        assert "incorrect" in _errors(post(client, "alice", WRONG.format(i)))[0], "answered once the wait is over"
        waits.append(wait)
    assert waits == [30, 60, 120, 240, 480, 900, 900, 900]


def test_an_attacker_elsewhere_cannot_keep_the_user_out(personas, client, clock):
    alice = personas.alice
    # The attacker at address A makes the account reach its ceiling, waiting as told.
    failures = 0
    while failures < settings.LOGIN_FAILURES_PER_ACCOUNT:
        r = post(client, "alice", WRONG.format(failures), ATTACKER)
        if "Trop de tentatives" in _errors(r)[0]:
            clock.forward(15 * 60)
            continue
        failures += 1
    assert "Trop de tentatives" in _errors(post(client, "alice", WRONG.format("a"), ATTACKER))[0]

    # At address B, the password alone is not answered any more: the form asks for the code.
    r = post(client, "alice", PASSWORD, USER_ADDRESS)
    assert not is_signed_in(client) and r.status_code == 200
    assert "code du second facteur ensemble" in _errors(r)[0]
    assert 'name="code"' in r.content.decode()

    # The password and the code together let the real user in, without a second step.
    code, at = code_for(alice)
    with totp_clock(at):
        r = post(client, "alice", PASSWORD, USER_ADDRESS, code=code)
    assert r.status_code == 302 and r["Location"] == reverse("dashboard")
    assert is_signed_in(client) and client.session["_auth_user_id"] == str(alice.pk)
    assert Event.objects.filter(action=Ev.LOGIN_SUCCEEDED, target_id=str(alice.pk)).count() == 1
    assert client.get(reverse("dashboard")).status_code == 200

    # Meanwhile the attacker is still throttled at A.
    client.logout()
    assert "Trop de tentatives" in _errors(post(client, "alice", PASSWORD, ATTACKER))[0]


def test_the_user_at_another_address_is_not_slowed_by_the_attacker(personas, client, clock):
    _fail(client, "alice", settings.LOGIN_FAILURES_PER_PAIR, ATTACKER)
    assert "Trop de tentatives" in _errors(post(client, "alice", PASSWORD, ATTACKER))[0]
    r = post(client, "alice", PASSWORD, USER_ADDRESS)
    assert r.status_code == 302 and r["Location"] == reverse("mfa_authenticate")


def test_brute_force_from_one_address_is_bounded(personas, client, clock):
    # A day of guessing, as fast as the throttle allows: a few dozen tries at most are
    # answered, and once the account's ceiling is reached a password alone gets no answer.
    answered = 0
    for i in range(400):
        r = post(client, "alice", WRONG.format(i), ATTACKER)
        error = _errors(r)[0]
        if "Trop de tentatives" in error:
            clock.forward(settings.LOGIN_MAX_DELAY_MINUTES * 60)
        elif "incorrect" in error:
            answered += 1
        if clock.at - time.time() > 24 * 3600:
            break
    assert answered == password_checks() == settings.LOGIN_FAILURES_PER_ACCOUNT
    r = post(client, "alice", PASSWORD, ATTACKER)
    assert not is_signed_in(client) and "second facteur" in _errors(r)[0]


def test_brute_force_from_many_addresses_is_bounded(personas, client, clock):
    for i in range(100):
        post(client, "alice", WRONG.format(i), f"198.18.{i // 250}.{i % 250 + 1}")
    assert password_checks() == settings.LOGIN_FAILURES_PER_ACCOUNT

    # The right password from a fresh address: no answer without the code…
    r = post(client, "alice", PASSWORD, "192.0.2.200")
    assert not is_signed_in(client) and "second facteur" in _errors(r)[0]
    # …and with a wrong code, the same answer as a wrong password: which one was wrong is not said.
    r = post(client, "alice", PASSWORD, "192.0.2.201", code="000000")
    assert not is_signed_in(client)
    assert _errors(r) == ["L'identifiant, le mot de passe ou le code est incorrect."]
    r2 = post(client, "alice", WRONG.format("z"), "192.0.2.202", code="000000")
    assert _errors(r2) == _errors(r)
    second = Event.objects.filter(action=Ev.LOGIN_FAILED, details__reason="second_factor")
    assert second.count() == 1 and second.get().target_id == str(personas.alice.pk)


def test_an_unknown_login_is_throttled_like_a_known_one(personas, client, clock):
    for i in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        post(client, "zorro", WRONG.format(i), f"198.18.1.{i + 1}")
        post(client, "alice", WRONG.format(i), f"198.18.1.{i + 1}")
    unknown = post(client, "zorro", PASSWORD, "192.0.2.9")
    known = post(client, "alice", PASSWORD, "192.0.2.9")
    assert _errors(unknown) == _errors(known) and "second facteur" in _errors(known)[0]
    for login in ("zorro", "alice"):
        for i in range(settings.LOGIN_FAILURES_PER_PAIR):
            post(client, login, WRONG.format(i), "192.0.2.10", code="123456")
    waiting = [_errors(post(client, login, PASSWORD, "192.0.2.10")) for login in ("zorro", "alice")]
    assert waiting[0] == waiting[1] and "Trop de tentatives" in waiting[0][0]


def test_it_throttles_per_account_not_the_whole_practice(personas, client, clock):
    for i in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        post(client, "alice", WRONG.format(i), f"198.18.2.{i + 1}")
    r = post(client, "bob", PASSWORD, "192.0.2.30")
    assert r.status_code == 302 and r["Location"] == reverse("mfa_authenticate")


def test_it_journals_failures_and_the_waits(personas, client, clock):
    _fail(client, "alice", settings.LOGIN_FAILURES_PER_PAIR)
    post(client, "alice", PASSWORD)

    failed = Event.objects.filter(action=Ev.LOGIN_FAILED)
    assert failed.count() == settings.LOGIN_FAILURES_PER_PAIR
    assert {(e.target_id, e.outcome, e.actor_id) for e in failed} == {
        (str(personas.alice.pk), Outcome.FAILURE, None)
    }
    locked = Event.objects.get(action=Ev.LOGIN_LOCKED)
    assert locked.target_id == str(personas.alice.pk)
    assert locked.outcome == Outcome.DENIED
    assert locked.details == {"scope": "pair", "seconds": 30}
    assert locked.ip == USER_ADDRESS


def test_it_journals_when_the_account_starts_asking_for_the_code(personas, client, clock):
    for i in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        post(client, "alice", WRONG.format(i), f"198.18.3.{i + 1}")
    event = Event.objects.get(action=Ev.LOGIN_LOCKED)
    assert event.target_id == str(personas.alice.pk) and event.outcome == Outcome.DENIED
    assert event.details == {"scope": "account", "second_factor_required": True}


def test_it_journals_a_failure_for_an_unknown_user_without_a_target(personas, client):
    post(client, "zorro", "Pas-Le-Bon!Mot42")
    event = Event.objects.get(action=Ev.LOGIN_FAILED)
    assert event.target_id == "" and event.actor_id is None


@pytest.mark.parametrize("username", ["alice", "zorro-inconnu"])
def test_it_never_writes_what_was_typed_to_the_journal(personas, client, clock, username):
    typed = ["Secret-Tape!1", "Secret-Tape!2", "Secret-Tape!3"]
    for password in typed:
        post(client, username, password)
    for _ in range(settings.LOGIN_FAILURES_PER_PAIR):
        post(client, username, typed[0], code="654321")

    rows = list(Event.objects.values())
    assert rows, "failures must be journaled"
    dump = repr(rows)
    for secret in [*typed, "654321"]:
        assert secret not in dump
    assert "zorro" not in dump
