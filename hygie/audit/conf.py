"""Journal settings, read from django.conf.settings (defined in hygie/settings.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.conf import settings

# Legal bounds of the rolling window (CNIL délibération 2021-122): 6 months to 3 years.
# settings.py enforces them on HYGIE_JOURNAL_RETENTION_DAYS; verify uses the lower one.
RETENTION_MIN_DAYS = 183
RETENTION_MAX_DAYS = 1096


def retention_days() -> int:
    return int(settings.JOURNAL_RETENTION_DAYS)


def checkpoint_interval() -> timedelta:
    return timedelta(minutes=int(settings.JOURNAL_CHECKPOINT_MINUTES))


def signing_key_file() -> Path:
    """Next to the key file, outside the data dir: whoever can rewrite the database (or steal a
    backup of the data dir) must not also be able to sign a rewritten journal."""
    return Path(settings.KEY_FILE).expanduser().parent / "journal-signing.key"


def checkpoint_file() -> Path:
    return Path(settings.JOURNAL_CHECKPOINT_FILE)
