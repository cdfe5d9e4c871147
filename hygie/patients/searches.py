"""Search results behind a short-lived opaque id: POST, then redirect, then GET.

A search is POSTed so that the name typed never reaches a URL, a browser history or a log line.
Answering the POST with the results page itself broke the browser's Back button (« Confirmer
le renvoi du formulaire ») and a reload re-sent the search. So the POST stores what it found in
the user's session under a random id and redirects (303) to /patients/recherche/<id>/: Back and
reload show the same results again, with nothing but a random id in the address.

Only the patients' internal ids are kept, never the query (it is patient data, and the session
table is not encrypted). The results page reads them back through hygie.access.records, so a
patient who left the user's reach since the search is not shown. An id lives SEARCH_TTL_SECONDS
and belongs to its session only: in another browser, or later, it is simply unknown.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

SESSION_KEY = "hygie.searches"
# Long enough to open a record and come back with Back, short enough not to keep a list of
# patients around: a new search is one keystroke away.
SEARCH_TTL_SECONDS = 15 * 60
# The last searches of a session (Back through several of them).
KEEP = 5


@dataclass(frozen=True)
class Stored:
    ids: list[int]
    more: bool


def remember(request: HttpRequest, patient_ids: Sequence[int], *, more: bool) -> str:
    """Store one search's results in the session; return its opaque id."""
    now = time.time()
    kept = _alive(request.session.get(SESSION_KEY), now)
    token = secrets.token_urlsafe(12)
    kept[token] = {"ids": [int(i) for i in patient_ids], "more": bool(more), "at": now}
    newest = sorted(kept.items(), key=lambda item: item[1]["at"])[-KEEP:]
    request.session[SESSION_KEY] = dict(newest)
    return token


def recall(request: HttpRequest, token: str) -> Stored | None:
    """The results stored under `token` in this session, or None (unknown or expired)."""
    entry = _alive(request.session.get(SESSION_KEY), time.time()).get(token)
    if entry is None:
        return None
    return Stored(ids=list(entry["ids"]), more=bool(entry["more"]))


def _alive(stored: Any, now: float) -> dict[str, dict[str, Any]]:
    if not isinstance(stored, dict):
        return {}
    return {
        token: entry for token, entry in stored.items()
        if isinstance(entry, dict) and 0 <= now - float(entry.get("at", 0)) < SEARCH_TTL_SECONDS
    }
