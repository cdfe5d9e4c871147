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
