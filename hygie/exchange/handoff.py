"""Hand a wrapped export to the user who made it, from a page: the rights answer (hygie.rights)
and the « contrôle CNIL » pack (hygie.compliance) leave Hygie as a 7z AES archive
(`actions.archive_files`). The archive waits in the outbox (random name, 0600,
HYGIE_EXCHANGE_OUTBOX_HOURS); only the session that made it knows its name, with the capability
it needs; the passphrase is shown once on the page that follows and stored nowhere.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from hygie.exchange import actions
from hygie.lib import exchange as rules

SESSION_KEY = "exchange_handoffs"


@dataclass(frozen=True)
class Handoff:
    token: str
    passphrase: str
    size: int

    def context(self) -> dict[str, Any]:
        """What the « archive ready » page shows (hygie/exchange/templates/exchange/handoff_ready.html)."""
        words = self.passphrase.split("-")
        return {
            "token": self.token,
            "passphrase": self.passphrase,
            "words": words,
            "bits": round(rules.passphrase_bits(len(words))),
            "hours": settings.EXCHANGE_OUTBOX_HOURS,
            "size": self.size,
        }


def new_path() -> tuple[str, Path]:
    token = str(uuid.uuid4())
    return token, actions.outbox_dir() / f"{actions.HANDOFF_PREFIX}{token}"


def remember(request: HttpRequest, *, token: str, passphrase: str, path: Path, cap: str, purpose: str,
             filename: str) -> Handoff:
    """Bind the written archive to this session (and to the capability it needs)."""
    entries = dict(request.session.get(SESSION_KEY, {}))
    entries[token] = {"cap": cap, "purpose": purpose, "filename": filename}
    request.session[SESSION_KEY] = entries
    return Handoff(token, passphrase, path.stat().st_size)


def find(request: HttpRequest, token: str) -> tuple[dict[str, str], Path | None] | None:
    """The session's entry for `token` and its file (None once expired), or None if not this session's."""
    entry = request.session.get(SESSION_KEY, {}).get(token)
    if entry is None:
        return None
    path = actions.outbox_dir() / f"{actions.HANDOFF_PREFIX}{token}"
    if not path.is_file():
        return entry, None
    if path.stat().st_mtime < (timezone.now() - actions.outbox_lifetime()).timestamp():
        return entry, None
    return entry, path
