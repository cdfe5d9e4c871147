"""The 72-hour clock of a personal data breach and the art. 34 decision rule. Pure: no Django.

Sources (/work/shared/REQUIREMENTS.md INC-3, ENC-3):

- GDPR art. 33(1): « En cas de violation de données à caractère personnel, le responsable du
  traitement en notifie la violation en question à l'autorité de contrôle compétente […] dans
  les meilleurs délais et, si possible, 72 heures au plus tard après en avoir pris
  connaissance, à moins que la violation en question ne soit pas susceptible d'engendrer un
  risque pour les droits et libertés des personnes physiques. Lorsque la notification […] n'a
  pas lieu dans les 72 heures, elle est accompagnée des motifs du retard. »
- GDPR art. 33(4): the information may be provided in phases (initial, then complementary).
- GDPR art. 33(5): every breach is documented, notified or not.
- GDPR art. 34(1): the persons are told when the breach is likely to result in a high risk;
  34(3)(a): not required when the data was made unintelligible to anyone not authorised to
  access it, such as by encryption (the keys not being exposed); 34(3)(b): nor when later
  measures ensure the high risk is no longer likely to materialise; 34(3)(c): a public
  communication instead when telling each would involve disproportionate effort.

Choices the text leaves open (docs/incidents.md repeats them): the clock runs from the time of
awareness the practice records, which may not be in the future nor before the discovery; the
warnings come when 24 h and 48 h of the 72 have passed (the issue), the alert when they are
over. A notification sent in time stops the clock; a late one must carry the reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# GDPR art. 33(1): « 72 heures au plus tard après en avoir pris connaissance ».
NOTIFY_WITHIN = timedelta(hours=72)
# Dashboard warnings once this much of the 72 hours has passed (issue 11).
WARN_AFTER = (timedelta(hours=24), timedelta(hours=48))


class Stage(StrEnum):
    RUNNING = "running"  # less than 24 h since awareness
    WARN_24 = "warn24"  # 24 h or more
    WARN_48 = "warn48"  # 48 h or more: less than a day left
    OVERDUE = "overdue"  # the 72 hours are over and nothing was notified
    DONE = "done"  # notified (or decided not to notify): the clock stopped


@dataclass(frozen=True)
class Clock:
    aware_at: datetime
    notify_by: datetime
    stage: Stage
    elapsed: timedelta
    left: timedelta  # negative when overdue

    @property
    def hours_left(self) -> int:
        """Whole hours left (rounded down), negative once overdue."""
        return int(self.left.total_seconds() // 3600)


def notify_by(aware_at: datetime) -> datetime:
    return aware_at + NOTIFY_WITHIN


def clock(aware_at: datetime, now: datetime, *, stopped: bool = False) -> Clock:
    """Where the 72-hour clock stands at `now`. `stopped`: the CNIL was notified, or the
    practice recorded that the breach need not be notified."""
    elapsed = now - aware_at
    deadline = notify_by(aware_at)
    if stopped:
        stage = Stage.DONE
    elif elapsed >= NOTIFY_WITHIN:
        stage = Stage.OVERDUE
    elif elapsed >= WARN_AFTER[1]:
        stage = Stage.WARN_48
    elif elapsed >= WARN_AFTER[0]:
        stage = Stage.WARN_24
    else:
        stage = Stage.RUNNING
    return Clock(aware_at=aware_at, notify_by=deadline, stage=stage, elapsed=elapsed, left=deadline - now)


def is_late(aware_at: datetime, notified_at: datetime) -> bool:
    """A notification after the 72 hours must give the reasons for the delay (art. 33(1))."""
    return notified_at - aware_at > NOTIFY_WITHIN


class TimesError(ValueError):
    """Times of a breach that cannot be: the message is French, for the user."""


def check_times(*, discovered_at: datetime, aware_at: datetime, now: datetime,
                started_at: datetime | None = None, ended_at: datetime | None = None) -> None:
    """Refuse impossible times: awareness in the future or before the discovery, a start after
    the discovery, an end before the start. A minute of margin for clocks of the machines."""
    margin = timedelta(minutes=1)
    if aware_at > now + margin:
        raise TimesError("La prise de connaissance ne peut pas être dans le futur.")
    if discovered_at > now + margin:
        raise TimesError("La découverte ne peut pas être dans le futur.")
    if aware_at < discovered_at:
        raise TimesError("La prise de connaissance ne peut pas précéder la découverte de l'incident.")
    if started_at is not None and started_at > discovered_at:
        raise TimesError("Le début de l'incident ne peut pas suivre sa découverte.")
    if ended_at is not None and started_at is not None and ended_at < started_at:
        raise TimesError("La fin de l'incident ne peut pas précéder son début.")
    if ended_at is not None and ended_at > now + margin:
        raise TimesError("La fin de l'incident ne peut pas être dans le futur.")


class Art34(StrEnum):
    """What art. 34 asks for this breach."""

    NOTIFY = "notify"  # tell each affected patient
    WAIVER_ENCRYPTED = "waiver_encrypted"  # 34(3)(a): encrypted data, keys safe
    WAIVER_MEASURES = "waiver_measures"  # 34(3)(b): later measures removed the high risk
    PUBLIC = "public"  # 34(3)(c): disproportionate effort, public communication
    NOT_HIGH_RISK = "not_high_risk"  # 34(1) not met: no high risk


def propose_art34(*, confidentiality: bool, encrypted_only: bool, keys_exposed: bool) -> Art34:
    """Hygie's proposal (ENC-3): the waiver of 34(3)(a) when only encrypted data left and its
    keys did not; otherwise tell the patients whenever confidentiality was breached (health
    data: a high risk is the prudent reading). A breach of availability or integrity alone is
    not presumed high risk; the practice decides and records it."""
    if not confidentiality:
        return Art34.NOT_HIGH_RISK
    if encrypted_only and not keys_exposed:
        return Art34.WAIVER_ENCRYPTED
    return Art34.NOTIFY
