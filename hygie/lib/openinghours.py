"""Opening hours of the practice, as written in settings: "07:00-20:00" and "1-6" (ISO weekdays,
1 = Monday). Pure logic: the alert on accesses outside opening hours asks `is_open`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time

from hygie.lib.env import ConfigError

_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class OpeningHours:
    opens: time
    closes: time
    days: frozenset[int]

    def is_open(self, local: datetime) -> bool:
        """`local` in the practice's time zone. Opening hours may span midnight (22:00-06:00)."""
        if local.isoweekday() not in self.days:
            return False
        t = local.time()
        if self.opens <= self.closes:
            return self.opens <= t < self.closes
        return t >= self.opens or t < self.closes


def parse_hours(text: str, name: str = "HYGIE_OPENING_HOURS") -> tuple[time, time]:
    m = _HOURS.match(text or "")
    if not m:
        raise ConfigError(f"{name} doit avoir la forme HH:MM-HH:MM, par exemple 07:00-20:00 (reçu : {text!r}).")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2 != 0):
        raise ConfigError(f"{name} : heure invalide (reçu : {text!r}).")
    closes = time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)
    return time(h1, m1), closes


def parse_days(text: str, name: str = "HYGIE_OPENING_DAYS") -> frozenset[int]:
    """ "1-6", "1-5,7", "1,3,5" → ISO weekdays."""
    days: set[int] = set()
    for part in (text or "").split(","):
        part = part.strip()
        m = re.fullmatch(r"([1-7])(?:-([1-7]))?", part)
        if not m:
            raise ConfigError(
                f"{name} doit lister des jours de 1 (lundi) à 7 (dimanche), par exemple 1-6 (reçu : {text!r})."
            )
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        if last < first:
            raise ConfigError(f"{name} : intervalle de jours à l'envers (reçu : {text!r}).")
        days.update(range(first, last + 1))
    return frozenset(days)


def parse(hours: str, days: str) -> OpeningHours:
    opens, closes = parse_hours(hours)
    return OpeningHours(opens, closes, parse_days(days))
