"""How long a practice keeps each kind of data, and when a patient record expires. Pure: no Django.

Every legal figure of Hygie's retention lives here, with its source. The texts
(/work/shared/REQUIREMENTS.md RET-1…8, seed 004):

- Code de la santé publique, art. R1112-7 (applied by analogy to the records of independent
  practitioners, as seed 004 and the Ordre des médecins recommend):
  « Le dossier médical […] est conservé pendant une durée de vingt ans à compter de la date du
  dernier séjour de son titulaire dans l'établissement ou de la dernière consultation externe en
  son sein. Lorsqu'en application des dispositions qui précèdent, la durée de conservation d'un
  dossier s'achève avant le vingt-huitième anniversaire de son titulaire, la conservation du
  dossier est prorogée jusqu'à cette date. Dans tous les cas, si la personne titulaire du dossier
  décède moins de dix ans après son dernier passage dans l'établissement, le dossier est conservé
  pour une durée de dix ans à compter de la date du décès. Ces délais sont suspendus par
  l'introduction de tout recours gracieux ou contentieux tendant à mettre en cause la
  responsabilité médicale de l'établissement de santé ou de professionnels de santé […]. »
- CNIL, référentiel « cabinets médicaux » (délibération 2020-081): 5 years in the active base
  after the last intervention, then intermediate archive (RET-7, a setting: the référentiel is a
  recommendation, the figure is read in a secondary source).
- Code de la sécurité sociale, R161-47: the practitioner keeps the electronic copy of a care
  sheet 3 months (RET-5, secondary).
- Accounting records: 10 years (Code de commerce L123-22) or 6 (Livre des procédures fiscales
  L102 B) — recalled, not verified (RET-8): a setting, 10 by default.

Choices the texts leave open (docs/retention.md repeats them):

- *A date "N years later" for 29 February* falls on 1 March when that year is not a leap year:
  the period is then one day longer, never shorter (the same reading as the civil-law majority
  of someone born on 29 February). The 28th birthday of someone born on 29 February is 1 March
  in a common year.
- *Death and minority together*: the death rule replaces the 20 years ("dans tous les cas"),
  and the 28th birthday stays a floor for every record (the issue: "never before the 28th
  birthday for a minor"). For a patient who was an adult at the last visit the floor never
  binds (20 years or 10 years from a later death end after it), so it only keeps the record of
  a child who died young until the day they would have turned 28 — the longer reading, and the
  one that keeps the expiry monotonic in the last visit.
- *A death date before the last visit* (a certificate written after the death, a declared date
  from older software): not refused, but the 10 years then run from the last visit, so that a
  record is never destroyed earlier because of an inconsistency.
- *Legal holds* (RET-4 suspension): overlapping holds count once (their union); a hold that
  began on or before the running expiry pushes it back by its length (D2 − D1 days); a hold that
  began after the expiry (the record was still there, awaiting approval) suspends nothing, since
  the period had run out, but the record is kept at least until the hold ends. An open hold
  means no expiry at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

# RET-1 — CSP R1112-7: 20 years from the last consultation.
RECORD_YEARS = 20
# RET-2 — CSP R1112-7: extended to the 28th birthday when the 20 years end before it.
MINOR_UNTIL_AGE = 28
# RET-3 — CSP R1112-7: death less than 10 years after the last visit: 10 years from the death.
DEATH_WITHIN_YEARS = 10
DEATH_KEEP_YEARS = 10
# RET-7 — CNIL référentiel cabinets médicaux 2020 (secondary): 5 years in the active base.
# Default of the setting HYGIE_RETENTION_ACTIVE_YEARS.
ACTIVE_BASE_YEARS = 5
# RET-5 — CSS R161-47 (secondary): electronic copies of care sheets, 3 months.
CARE_SHEET_COPY_MONTHS = 3
# RET-8 — Code de commerce L123-22 (10 years) / LPF L102 B (6 years), recalled, not verified:
# default of the setting HYGIE_ACCOUNTING_RETENTION_YEARS.
ACCOUNTING_YEARS = 10
# RET-6 — seed 004, "only while needed": default of HYGIE_APPOINTMENT_RETENTION_MONTHS.
APPOINTMENT_MONTHS = 12
# Not a legal figure: the notice before an automatic purge destroys a record.
AUTO_PURGE_NOTICE_DAYS = 30

# The rules, as stored in the erasure register and shown to people.
RULE_RECORD = "RET-1"
RULE_MINOR = "RET-2"
RULE_DEATH = "RET-3"
RULE_HOLD = "RET-4"

RULE_LABELS = {
    RULE_RECORD: "20 ans après la dernière consultation (CSP R1112-7)",
    RULE_MINOR: "jusqu'au 28e anniversaire du patient (CSP R1112-7)",
    RULE_DEATH: "10 ans après le décès (CSP R1112-7)",
    RULE_HOLD: "délais suspendus par une réclamation ou un recours (CSP R1112-7)",
}


class RetentionInputError(ValueError):
    """Impossible dates. The message is French and repeats no value; `field` names the date
    at fault: "birth", "last_visit", "death", "hold_start" or "hold_end"."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Hold:
    """A legal hold: from `start` to `end` included in its length, or open (`end` None)."""

    start: date
    end: date | None = None

    @property
    def days(self) -> int:
        return 0 if self.end is None else (self.end - self.start).days


@dataclass(frozen=True)
class Decision:
    expires: date | None  # None while an open hold protects the record
    rule: str  # "RET-1", "RET-2", "RET-3", each possibly followed by "+RET-4"; "RET-4" when open
    explanation: str  # one French sentence

    def as_dict(self) -> dict[str, str | None]:
        return {
            "expires": None if self.expires is None else self.expires.isoformat(),
            "rule": self.rule,
            "explanation": self.explanation,
        }


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February goes to 1 March of a common year (module doc)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def add_months(day: date, months: int) -> date:
    """The same day `months` earlier or later, clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def fr_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def check_dates(
    *, birth: date, last_visit: date | None = None, death: date | None = None, today: date | None = None
) -> None:
    """Refuse impossible dates with a French message (the forms, the import, the CLI share it)."""
    if today is not None and birth > today:
        raise RetentionInputError("La date de naissance ne peut pas être dans le futur.", "birth")
    if death is not None:
        if death < birth:
            raise RetentionInputError("La date de décès ne peut pas précéder la date de naissance.", "death")
        if today is not None and death > today:
            raise RetentionInputError("La date de décès ne peut pas être dans le futur.", "death")
    if last_visit is not None:
        if last_visit < birth:
            raise RetentionInputError(
                "La dernière consultation ne peut pas précéder la date de naissance.", "last_visit"
            )
        if today is not None and last_visit > today:
            raise RetentionInputError("La dernière consultation ne peut pas être dans le futur.", "last_visit")


def check_hold(hold: Hold, *, today: date | None = None) -> None:
    if hold.end is not None and hold.end < hold.start:
        raise RetentionInputError("La fin de la suspension ne peut pas précéder son début.", "hold_end")
    if today is not None and hold.start > today:
        raise RetentionInputError("Une suspension ne peut pas commencer dans le futur.", "hold_start")


def merge_holds(holds: Iterable[Hold]) -> list[Hold]:
    """The union of the holds as disjoint intervals, in order (overlapping claims count once)."""
    merged: list[Hold] = []
    for hold in sorted(holds, key=lambda h: h.start):
        if merged:
            last = merged[-1]
            if last.end is None:
                break  # an open hold covers everything after it
            if hold.start <= last.end:
                end = None if hold.end is None else max(last.end, hold.end)
                merged[-1] = Hold(last.start, end)
                continue
        merged.append(hold)
    return merged


def base_expiry(*, birth: date, last_visit: date, death: date | None = None) -> tuple[date, str]:
    """The expiry before any hold, and the rule that decided it (RET-1, RET-2 or RET-3)."""
    if death is not None and death < add_years(last_visit, DEATH_WITHIN_YEARS):
        # Module doc: a death "before" the last visit counts from the last visit.
        expires, rule = add_years(max(death, last_visit), DEATH_KEEP_YEARS), RULE_DEATH
    else:
        expires, rule = add_years(last_visit, RECORD_YEARS), RULE_RECORD
    birthday = add_years(birth, MINOR_UNTIL_AGE)
    if expires < birthday:
        return birthday, RULE_MINOR
    return expires, rule


def expiry(
    *,
    birth: date,
    last_visit: date,
    death: date | None = None,
    holds: Sequence[Hold] = (),
    today: date | None = None,
) -> Decision:
    """When the record may be destroyed, by which rule, and why in one French sentence.

    Raises RetentionInputError for impossible dates (`today` enables the "in the future" checks).
    """
    check_dates(birth=birth, last_visit=last_visit, death=death, today=today)
    for hold in holds:
        check_hold(hold, today=today)
    expires, rule = base_expiry(birth=birth, last_visit=last_visit, death=death)
    base_sentence = _base_sentence(rule, birth=birth, last_visit=last_visit, death=death)
    merged = merge_holds(holds)
    if any(h.end is None for h in merged):
        return Decision(
            None,
            RULE_HOLD,
            f"{base_sentence}, mais une suspension (réclamation ou recours) est en cours : "
            "le dossier est conservé tant qu'elle n'est pas levée.",
        )
    pushed = 0
    for hold in merged:
        assert hold.end is not None
        if hold.start <= expires:
            expires += timedelta(days=hold.days)
            pushed += hold.days
        elif hold.end > expires:
            pushed += (hold.end - expires).days
            expires = hold.end
    if not merged:
        return Decision(expires, rule, f"{base_sentence} : conservation jusqu'au {fr_date(expires)}.")
    return Decision(
        expires,
        f"{rule}+{RULE_HOLD}",
        f"{base_sentence}, prolongé de {pushed} jour{'s' if pushed > 1 else ''} par "
        f"{'les suspensions' if len(merged) > 1 else 'la suspension'} (réclamation ou recours) : "
        f"conservation jusqu'au {fr_date(expires)}.",
    )


def _base_sentence(rule: str, *, birth: date, last_visit: date, death: date | None) -> str:
    if rule == RULE_DEATH:
        assert death is not None
        start = max(death, last_visit)
        origin = "du décès" if start == death else "de la dernière consultation, postérieure au décès déclaré"
        return (
            f"Décès moins de {DEATH_WITHIN_YEARS} ans après la dernière consultation : "
            f"{DEATH_KEEP_YEARS} ans à compter {origin} ({fr_date(start)})"
        )
    if rule == RULE_MINOR:
        return (
            f"La durée légale depuis la dernière consultation ({fr_date(last_visit)}) finirait avant le "
            f"{MINOR_UNTIL_AGE}e anniversaire du patient, qui la prolonge"
        )
    return f"{RECORD_YEARS} ans après la dernière consultation ({fr_date(last_visit)})"


def active_until(last_intervention: date, active_years: int = ACTIVE_BASE_YEARS) -> date:
    """RET-7: the day a record without intervention leaves the active base for the archive."""
    return add_years(last_intervention, active_years)
