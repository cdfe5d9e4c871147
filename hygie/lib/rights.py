"""Patients' rights: which deadline applies to a request, and when the dashboard warns. Pure: no Django.

Every legal figure of the rights register lives here, with its source (REQUIREMENTS GDPR-3,
GDPR-4, seed 004):

- Code de la santé publique, art. L1111-7, al. 2 (communication of the medical record):
  « Elle peut accéder à ces informations directement ou par l'intermédiaire d'un médecin qu'elle
  désigne et en obtenir communication […] au plus tard dans les huit jours suivant sa demande et
  au plus tôt après qu'un délai de réflexion de quarante-huit heures aura été observé. Ce délai est
  porté à deux mois lorsque les informations médicales datent de plus de cinq ans […]. »
- RGPD (Règlement (UE) 2016/679), art. 12.3, for the rights of art. 15 to 22 (a copy of the data
  in a structured format — portability, art. 20 —, rectification, erasure, restriction,
  objection): « dans les meilleurs délais et en tout état de cause dans un délai d'un mois à
  compter de la réception de la demande. Au besoin, ce délai peut être prolongé de deux mois […].
  Le responsable du traitement informe la personne concernée de cette prolongation et des motifs
  du report dans un délai d'un mois à compter de la réception de la demande. »

Choices the texts leave open (docs/rights.md repeats them):

- *Communication of the record (CSP) and the right of access (RGPD art. 15) together*: the record
  is asked under the CSP, whose 8 days are shorter than the RGPD's month, and the CSP has no
  extension: the extension is refused for it.
- *"Informations de plus de cinq ans"*: the record holds information older than 5 years on the
  day the request is received (its oldest consultation, document, or the date the record was
  started or migrated from); then the 2 months apply to the whole request.
- *Days*: the legal deadline is a calendar date; a weekend or a public holiday does not move it.
  The dashboard warns WARN_DAYS before the last working day (Monday to Friday) on or before it,
  so that a deadline falling on a Sunday is seen on the Tuesday before, not on the Thursday.
- *A month later* is the same day of the next month, clamped to the end of a shorter month
  (31 January + 1 month = 28 or 29 February): never later than the text
  (hygie.lib.retention.add_months).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from hygie.lib.retention import add_months, add_years, fr_date

# CSP L1111-7: reflection period before the record is communicated: 48 hours.
ACCESS_FLOOR_HOURS = 48
# CSP L1111-7: communicated at the latest 8 days after the request.
ACCESS_DAYS = 8
# CSP L1111-7: 2 months when the medical information is over 5 years old.
ACCESS_OLD_MONTHS = 2
OLD_INFORMATION_YEARS = 5
# RGPD art. 12.3: one month, extendable by two if the person is told within the first.
GDPR_MONTHS = 1
GDPR_EXTENSION_MONTHS = 2
# Not a legal figure: the dashboard lists requests due within this many days.
WARN_DAYS = 3

RULE_ACCESS = "CSP-L1111-7"
RULE_ACCESS_OLD = "CSP-L1111-7-5ANS"
RULE_GDPR = "RGPD-12.3"
RULE_GDPR_EXTENDED = "RGPD-12.3-PROLONGE"

RULE_LABELS = {
    RULE_ACCESS: "8 jours, pas avant 48 heures de réflexion (CSP L1111-7)",
    RULE_ACCESS_OLD: "2 mois : informations de plus de 5 ans (CSP L1111-7)",
    RULE_GDPR: "1 mois (RGPD art. 12.3)",
    RULE_GDPR_EXTENDED: "1 mois prolongé de 2 mois, patient informé (RGPD art. 12.3)",
}


class Right(StrEnum):
    ACCESS = "acces"  # communication of the record (CSP L1111-7, RGPD art. 15)
    PORTABILITY = "portabilite"  # RGPD art. 20
    RECTIFICATION = "rectification"  # RGPD art. 16
    ERASURE = "effacement"  # RGPD art. 17
    RESTRICTION = "limitation"  # RGPD art. 18
    OBJECTION = "opposition"  # RGPD art. 21


class RightsInputError(ValueError):
    """A date or step the rules refuse. The message is French and repeats no value."""


@dataclass(frozen=True)
class Deadline:
    earliest: datetime | None  # not answered before (the 48-hour floor), or None
    due: date
    rule: str
    explanation: str  # one French sentence


def is_old_information(oldest: date | None, received: date) -> bool:
    """CSP L1111-7: the record holds information dating from more than 5 years on receipt."""
    return oldest is not None and oldest < add_years(received, -OLD_INFORMATION_YEARS)


def deadline(
    right: Right | str,
    received: datetime,
    *,
    old_information: bool = False,
    extended_on: date | None = None,
) -> Deadline:
    """The deadline of a request received at `received` (an aware or naive local datetime).

    `extended_on`: the day the patient was told of the extension (RGPD rights only; checked by
    check_extension)."""
    right = Right(right)
    day = received.date()
    if right == Right.ACCESS:
        earliest = received + timedelta(hours=ACCESS_FLOOR_HOURS)
        if old_information:
            due = add_months(day, ACCESS_OLD_MONTHS)
            return Deadline(
                earliest, due, RULE_ACCESS_OLD,
                f"Informations de plus de {OLD_INFORMATION_YEARS} ans : communication au plus tard le "
                f"{fr_date(due)}, pas avant 48 heures de réflexion.",
            )
        due = day + timedelta(days=ACCESS_DAYS)
        return Deadline(
            earliest, due, RULE_ACCESS,
            f"Communication au plus tard le {fr_date(due)} ({ACCESS_DAYS} jours), pas avant 48 heures de réflexion.",
        )
    if extended_on is not None:
        due = add_months(day, GDPR_MONTHS + GDPR_EXTENSION_MONTHS)
        return Deadline(
            None, due, RULE_GDPR_EXTENDED,
            f"Délai prolongé de {GDPR_EXTENSION_MONTHS} mois (patient informé le {fr_date(extended_on)}) : "
            f"réponse au plus tard le {fr_date(due)}.",
        )
    due = add_months(day, GDPR_MONTHS)
    return Deadline(None, due, RULE_GDPR, f"Réponse au plus tard le {fr_date(due)} (1 mois).")


def extension_limit(received: datetime) -> date:
    """RGPD art. 12.3: the last day the patient may be told of an extension."""
    return add_months(received.date(), GDPR_MONTHS)


def check_extension(right: Right | str, received: datetime, notice_on: date, *, today: date) -> None:
    """Refuse an extension the text does not allow, with a French message."""
    if Right(right) == Right.ACCESS:
        raise RightsInputError(
            "La communication du dossier (CSP L1111-7) ne se prolonge pas : 8 jours, ou 2 mois pour "
            "des informations de plus de 5 ans."
        )
    if notice_on < received.date():
        raise RightsInputError("Le patient ne peut pas avoir été informé avant la réception de la demande.")
    if notice_on > today:
        raise RightsInputError("La date à laquelle le patient a été informé ne peut pas être dans le futur.")
    if notice_on > extension_limit(received):
        raise RightsInputError(
            "La prolongation doit être annoncée au patient dans le mois qui suit la réception de la "
            f"demande (au plus tard le {fr_date(extension_limit(received))}) : elle n'est plus possible."
        )


def last_working_day(day: date) -> date:
    """The day itself, or the Friday before when it falls on a weekend."""
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def warn_from(due: date) -> date:
    """The dashboard lists the request from this day: WARN_DAYS before the last working day on
    or before the deadline (the deadline itself never moves)."""
    return last_working_day(due) - timedelta(days=WARN_DAYS)


def urgency(due: date, today: date) -> str:
    """"late" after the deadline, "soon" from warn_from(due), "" otherwise."""
    if today > due:
        return "late"
    if today >= warn_from(due):
        return "soon"
    return ""
