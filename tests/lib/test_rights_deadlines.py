"""The deadlines of patients' rights requests, against a table written from the texts
(CSP L1111-7, RGPD art. 12.3; hygie/lib/rights.py quotes them)."""

from __future__ import annotations

from datetime import date
from datetime import datetime as dt

import pytest

from hygie.lib import rights
from hygie.lib.rights import Right

ACCESS, OLD, EXTENDED = "CSP-L1111-7", "CSP-L1111-7-5ANS", "RGPD-12.3-PROLONGE"

# (right, received, old information, extension notice) -> (earliest, due, rule)
TABLE = [
    # CSP L1111-7: 8 days at the latest, not before 48 hours.
    (Right.ACCESS, dt(2025, 3, 3, 10, 30), False, None, dt(2025, 3, 5, 10, 30), date(2025, 3, 11), ACCESS),
    # A Friday request: 8 days later is a Saturday; the legal deadline does not move.
    (Right.ACCESS, dt(2025, 3, 7, 9, 0), False, None, dt(2025, 3, 9, 9, 0), date(2025, 3, 15), ACCESS),
    # Information older than 5 years: 2 months.
    (Right.ACCESS, dt(2025, 3, 3, 10, 30), True, None, dt(2025, 3, 5, 10, 30), date(2025, 5, 3), OLD),
    # 2 months from 31 December: 28 February (clamped, never later than the text).
    (Right.ACCESS, dt(2024, 12, 31, 8, 0), True, None, dt(2025, 1, 2, 8, 0), date(2025, 2, 28), OLD),
    # RGPD art. 12.3: one month.
    (Right.PORTABILITY, dt(2025, 1, 31, 12, 0), False, None, None, date(2025, 2, 28), "RGPD-12.3"),
    (Right.RECTIFICATION, dt(2025, 3, 3, 12, 0), False, None, None, date(2025, 4, 3), "RGPD-12.3"),
    (Right.ERASURE, dt(2025, 3, 3, 12, 0), True, None, None, date(2025, 4, 3), "RGPD-12.3"),
    (Right.RESTRICTION, dt(2024, 2, 29, 12, 0), False, None, None, date(2024, 3, 29), "RGPD-12.3"),
    (Right.OBJECTION, dt(2025, 3, 3, 12, 0), False, None, None, date(2025, 4, 3), "RGPD-12.3"),
    # Extended by two months, the patient told within the first month.
    (Right.ERASURE, dt(2025, 3, 3, 12, 0), False, date(2025, 3, 20), None, date(2025, 6, 3), EXTENDED),
    (Right.PORTABILITY, dt(2024, 11, 30, 12, 0), False, date(2024, 12, 30), None, date(2025, 2, 28), EXTENDED),
]


@pytest.mark.parametrize(("right", "received", "old", "extended", "earliest", "due", "rule"), TABLE)
def test_it_computes_the_legal_deadline(right, received, old, extended, earliest, due, rule):
    d = rights.deadline(right, received, old_information=old, extended_on=extended)
    assert (d.earliest, d.due, d.rule) == (earliest, due, rule)
    assert rights.fr_date(due) in d.explanation


def test_it_finds_information_older_than_five_years():
    assert rights.is_old_information(date(2020, 3, 2), date(2025, 3, 3))
    assert not rights.is_old_information(date(2020, 3, 3), date(2025, 3, 3))
    assert not rights.is_old_information(None, date(2025, 3, 3))


def test_it_allows_the_extension_within_the_first_month_only():
    received = dt(2025, 1, 31, 9, 0)
    rights.check_extension(Right.ERASURE, received, date(2025, 2, 28), today=date(2025, 3, 1))
    with pytest.raises(rights.RightsInputError, match="dans le mois"):
        rights.check_extension(Right.ERASURE, received, date(2025, 3, 1), today=date(2025, 3, 1))
    with pytest.raises(rights.RightsInputError, match="futur"):
        rights.check_extension(Right.ERASURE, received, date(2025, 2, 10), today=date(2025, 2, 5))
    with pytest.raises(rights.RightsInputError, match="avant la réception"):
        rights.check_extension(Right.ERASURE, received, date(2025, 1, 30), today=date(2025, 2, 5))


def test_it_never_extends_the_communication_of_the_record():
    with pytest.raises(rights.RightsInputError, match="ne se prolonge pas"):
        rights.check_extension(Right.ACCESS, dt(2025, 3, 3), date(2025, 3, 4), today=date(2025, 3, 5))


@pytest.mark.parametrize(
    ("due", "warn"),
    [
        (date(2025, 3, 14), date(2025, 3, 11)),  # Friday: from Tuesday
        (date(2025, 3, 15), date(2025, 3, 11)),  # Saturday: last working day Friday, from Tuesday
        (date(2025, 3, 16), date(2025, 3, 11)),  # Sunday: the same
        (date(2025, 3, 17), date(2025, 3, 14)),  # Monday: from the Friday before
    ],
)
def test_the_dashboard_warns_early_before_a_weekend(due, warn):
    assert rights.warn_from(due) == warn
    assert rights.urgency(due, warn) == "soon"
    assert rights.urgency(due, warn.replace(day=warn.day - 1)) == ""
    assert rights.urgency(due, due) == "soon"
    assert rights.urgency(due, date.fromordinal(due.toordinal() + 1)) == "late"
