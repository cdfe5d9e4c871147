"""Django's database sessions (SESSION_ENGINE), the session row read by a query the ORM compiles
once per process (hygie.core.frozen) instead of at every request: same row, same rule (a key
that exists and has not expired), same answer when there is none."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.db.models import QuerySet
from django.utils import timezone

from hygie.core import frozen


def _session_row(key: str, now: datetime) -> QuerySet[Session]:
    return Session.objects.filter(session_key=key, expire_date__gt=now)[:1]


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Any:
        key = self.session_key
        found = None
        if isinstance(key, str):  # Django validated it (length, alphabet) or left None
            found = next(iter(frozen.queryset(_session_row, key, timezone.now())), None)
        if found is None:
            self._session_key = None
        return found
