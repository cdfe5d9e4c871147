"""The rules of the practice's security checklist, with no Django: statuses, how long a
declaration holds, how the score is made, in which order the next steps come.

The figures live here, each with its source:
- a declaration holds one year, then the item goes back to "to check" (issue 12);
- staff training is renewed every year (seed 002: « une courte mise à jour chaque année ») ;
- the workstation locks after at most 5 minutes of inactivity (seed 003: « 3-5 minutes »;
  seed 000 asks 1 minute on phones and tablets);
- a restore test within 35 days is HYGIE_RESTORE_TEST_LATE_DAYS (hygie/backups/status.py), not
  repeated here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from hygie.lib.text import compact

OK: Final = "ok"
TODO: Final = "todo"
UNKNOWN: Final = "unknown"
STATUSES: Final = (OK, TODO, UNKNOWN)

# Issue 12: « a declaration expires after a year and the item goes back to "to check" ».
DECLARATION_VALID_DAYS: Final = 365
# Seed 002, « Formations continues » : une courte mise à jour chaque année.
TRAINING_VALID_DAYS: Final = 365
# Seed 003, « Mesures de sécurité essentielles » 1 : verrouillage automatique (3-5 minutes).
SCREEN_LOCK_MAX_MINUTES: Final = 5
# A host diagnostic older than this no longer says anything about the server.
DIAGNOSTIC_VALID_DAYS: Final = 30
# Risk levels of the catalogue: what a failure of the item exposes.
RISK_HIGH: Final = 3  # patient data readable or lost (shared account, no backup, open remote access)
RISK_MEDIUM: Final = 2
RISK_LOW: Final = 1

# Account names that name a post or a place, not a person (AUTH-1: one named account per person).
GENERIC_USERNAMES: Final = frozenset(
    {
        "accueil", "admin", "administrateur", "cabinet", "commun", "compta", "comptabilite", "docteur",
        "facturation", "guest", "invite", "medecin", "partage", "poste", "praticien", "reception",
        "remplacant", "secretaire", "secretariat", "stagiaire", "test", "user", "utilisateur",
    }
)


def declaration_expires_on(declared_on: date) -> date:
    return declared_on + timedelta(days=DECLARATION_VALID_DAYS)


def declared_status(answer: str, declared_on: date | None, today: date) -> str:
    """A declaration's status today: nobody declared → unknown; expired → todo (to check again);
    otherwise what was declared ("ok" done, "todo" not done yet)."""
    if declared_on is None or answer not in (OK, TODO):
        return UNKNOWN
    if today >= declaration_expires_on(declared_on):
        return TODO
    return answer


def training_due(last_followed: date | None, today: date) -> bool:
    return last_followed is None or today >= last_followed + timedelta(days=TRAINING_VALID_DAYS)


def combine(statuses: Iterable[str]) -> str:
    """Several sources about one item (a declaration, a host diagnostic): one "todo" is enough to
    make it "todo"; it is "ok" only when something says so and nothing says otherwise."""
    seen = set(statuses)
    if TODO in seen:
        return TODO
    if OK in seen:
        return OK
    return UNKNOWN


def is_named_account(username: str, first_name: str, last_name: str) -> bool:
    """A person's account: a first and last name, and a login that is not a post or a place."""
    if not first_name.strip() or not last_name.strip():
        return False
    login = compact(username).replace("_", "")
    stripped = login.rstrip("0123456789")
    return login not in GENERIC_USERNAMES and stripped not in GENERIC_USERNAMES


@dataclass(frozen=True)
class Scored:
    id: str
    status: str
    risk: int


def score(items: Sequence[Scored]) -> int:
    """0-100: the share of the risk covered by items that are "ok". "unknown" counts as not done:
    a practice does not score on what nobody checked."""
    total = sum(item.risk for item in items)
    if total == 0:
        return 0
    done = sum(item.risk for item in items if item.status == OK)
    return round(100 * done / total)


def next_steps(items: Sequence[Scored], since: dict[str, date | None] | None = None) -> list[str]:
    """Ids of the items to do, highest risk first; "todo" before "unknown" at the same risk (a
    known gap before an unchecked one); then the oldest first (`since`: when the item became
    due, None for never checked: oldest of all)."""
    since = since or {}

    def key(item: Scored) -> tuple[int, int, date, str]:
        return (-item.risk, 0 if item.status == TODO else 1, since.get(item.id) or date.min, item.id)

    return [item.id for item in sorted((i for i in items if i.status != OK), key=key)]


def trend(current: int, previous: int | None) -> int | None:
    """Points gained (positive) or lost since the previous score, None without one."""
    return None if previous is None else current - previous
