from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone
from django.utils.module_loading import import_string

from hygie.accounts.sessionstore import SessionStore


def test_the_engine_is_hygie_s_store():
    assert import_string(settings.SESSION_ENGINE + ".SessionStore") is SessionStore


def test_a_live_session_loads_an_expired_or_unknown_one_does_not(db):
    store = SessionStore()
    store["hygie.seen_at"] = 12.5
    store.save()
    key = store.session_key
    assert SessionStore(key).load() == {"hygie.seen_at": 12.5}
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = SessionStore(key)
    assert expired.load() == {} and expired.session_key is None
    unknown = SessionStore("x" * 32)
    assert unknown.load() == {} and unknown.session_key is None
    assert SessionStore(None).load() == {}


def test_views_get_the_account_itself_not_a_lazy_wrapper(personas, login):
    """The session guard reads the user once and hands the account on: attribute reads through
    Django's SimpleLazyObject cost two Python calls and a caught exception each."""
    from django.utils.functional import SimpleLazyObject

    from hygie.accounts.models import User

    response = login(personas.alice).get("/")
    assert type(response.wsgi_request.user) is User and response.wsgi_request.user.pk == personas.alice.pk
    assert not isinstance(response.context["user"], SimpleLazyObject)
    from django.test import Client

    anonymous = Client().get("/auth/login/")
    assert not isinstance(anonymous.wsgi_request.user, SimpleLazyObject)
    assert not anonymous.wsgi_request.user.is_authenticated
