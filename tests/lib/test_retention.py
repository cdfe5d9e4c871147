"""The retention engine against cases written from the texts (CSP R1112-7, RET-1…4), then its
invariants as properties (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hygie.lib import retention
from hygie.lib.retention import Hold, RetentionInputError, add_years, expiry

D = date.fromisoformat

# Each case: what R1112-7 says, worked out by hand.
# (name, birth, last visit, death, holds, expected expiry, expected rule)
CASES = [
    # « vingt ans à compter de la date […] de la dernière consultation »
    ("adulte, 20 ans", "1960-05-10", "2001-03-15", None, [], "2021-03-15", "RET-1"),
    ("29 février + 20 ans : encore un 29 février", "1950-01-01", "2004-02-29", None, [], "2024-02-29", "RET-1"),
    ("29 février 2080 + 20 ans : 2100 n'est pas bissextile, 1er mars", "2050-01-01", "2080-02-29", None, [],
     "2100-03-01", "RET-1"),
    # « prorogée jusqu'au vingt-huitième anniversaire »
    ("enfant vu à 2 ans", "2000-06-01", "2002-06-01", None, [], "2028-06-01", "RET-2"),
    ("enfant vu à 7 ans", "1990-09-30", "1997-09-29", None, [], "2018-09-30", "RET-2"),
    ("enfant vu à 8 ans pile : 20 ans = 28 ans", "1990-09-30", "1998-09-30", None, [], "2018-09-30", "RET-1"),
    ("adolescent : 20 ans suffisent", "1990-01-01", "2005-01-01", None, [], "2025-01-01", "RET-1"),
    ("né un 29 février : 28e anniversaire un 29 février", "2000-02-29", "2001-01-10", None, [], "2028-02-29",
     "RET-2"),
    ("né le 29 février 2072 : 28e anniversaire le 1er mars 2100", "2072-02-29", "2073-01-10", None, [],
     "2100-03-01", "RET-2"),
    # « décède moins de dix ans après son dernier passage : dix ans à compter du décès »
    ("décès 3 ans après : 10 ans du décès", "1940-01-01", "2010-04-01", "2013-04-01", [], "2023-04-01", "RET-3"),
    ("décès le jour de la dernière consultation", "1940-01-01", "2010-04-01", "2010-04-01", [], "2020-04-01", "RET-3"),
    ("décès 10 ans après pile : 20 ans", "1940-01-01", "2000-04-01", "2010-04-01", [], "2020-04-01", "RET-1"),
    ("décès 12 ans après : 20 ans", "1940-01-01", "2000-04-01", "2012-04-01", [], "2020-04-01", "RET-1"),
    ("décès un 29 février : 10 ans plus tard, 1er mars", "1940-01-01", "2010-01-10", "2012-02-29", [],
     "2022-03-01", "RET-3"),
    ("décès déclaré avant la dernière consultation : 10 ans de la consultation", "1940-01-01", "2010-04-01",
     "2010-01-01", [], "2020-04-01", "RET-3"),
    ("enfant décédé jeune : gardé jusqu'à ses 28 ans", "2010-01-01", "2011-01-01", "2012-01-01", [],
     "2038-01-01", "RET-2"),
    ("adolescent décédé : 10 ans du décès après ses 28 ans", "1995-01-01", "2012-01-01", "2014-01-01", [],
     "2024-01-01", "RET-3"),
    # « Ces délais sont suspendus par l'introduction de tout recours »
    ("suspension de 100 jours", "1960-05-10", "2001-03-15", None, [("2010-01-01", "2010-04-11")], "2021-06-23",
     "RET-1+RET-4"),
    ("deux suspensions qui se chevauchent comptent une fois", "1960-05-10", "2001-03-15", None,
     [("2010-01-01", "2010-04-11"), ("2010-03-01", "2010-05-01")], "2021-07-13", "RET-1+RET-4"),
    ("suspension après l'échéance : conservé jusqu'à sa levée", "1960-05-10", "2001-03-15", None,
     [("2022-01-01", "2022-02-01")], "2022-02-01", "RET-1+RET-4"),
    ("suspension en cours : pas d'échéance", "1960-05-10", "2001-03-15", None, [("2010-01-01", None)], None,
     "RET-4"),
    ("suspension en cours commencée après l'échéance", "1960-05-10", "2001-03-15", None, [("2023-01-01", None)],
     None, "RET-4"),
    ("suspension sur un dossier d'enfant", "2000-06-01", "2002-06-01", None, [("2005-01-01", "2005-01-31")],
     "2028-07-01", "RET-2+RET-4"),
]


@pytest.mark.parametrize(
    ("birth", "last", "death", "holds", "expected", "rule"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_it_follows_the_texts(birth, last, death, holds, expected, rule) -> None:
    decision = expiry(
        birth=D(birth),
        last_visit=D(last),
        death=D(death) if death else None,
        holds=[Hold(D(a), D(b) if b else None) for a, b in holds],
    )
    assert decision.expires == (D(expected) if expected else None)
    assert decision.rule == rule
    assert decision.explanation.endswith(".")
    assert "\n" not in decision.explanation


def test_it_adds_years_to_29_february_as_1_march() -> None:
    assert add_years(D("2000-02-29"), 1) == D("2001-03-01")
    assert add_years(D("2000-02-29"), 4) == D("2004-02-29")
    assert add_years(D("2003-02-28"), 1) == D("2004-02-28")


def test_it_explains_in_french_with_the_dates() -> None:
    decision = expiry(birth=D("1960-05-10"), last_visit=D("2001-03-15"))
    assert decision.explanation == (
        "20 ans après la dernière consultation (15/03/2001) : conservation jusqu'au 15/03/2021."
    )
    held = expiry(birth=D("1960-05-10"), last_visit=D("2001-03-15"), holds=[Hold(D("2010-01-01"))])
    assert "suspension" in held.explanation and held.expires is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"birth": "2000-01-01", "last_visit": "2010-01-01", "death": "1999-12-31"}, "décès ne peut pas précéder"),
        ({"birth": "2000-01-01", "last_visit": "2030-01-01"}, "dernière consultation ne peut pas être dans le futur"),
        ({"birth": "2000-01-01", "last_visit": "1999-01-01"}, "ne peut pas précéder la date de naissance"),
        ({"birth": "2000-01-01", "last_visit": "2010-01-01", "death": "2030-01-01"}, "décès ne peut pas être"),
    ],
)
def test_it_refuses_impossible_dates(kwargs, message) -> None:
    args = {k: D(v) for k, v in kwargs.items()}
    with pytest.raises(RetentionInputError, match=message):
        expiry(**args, today=D("2025-01-01"))


def test_it_refuses_a_hold_ending_before_it_starts() -> None:
    with pytest.raises(RetentionInputError, match="fin de la suspension"):
        expiry(birth=D("2000-01-01"), last_visit=D("2010-01-01"), holds=[Hold(D("2012-01-02"), D("2012-01-01"))])


# --- Properties ---------------------------------------------------------------------------

births = st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31))
offsets = st.integers(min_value=0, max_value=80 * 366)
spans = st.integers(min_value=0, max_value=5000)


@st.composite
def situations(draw):
    birth = draw(births)
    last = birth + timedelta(days=draw(offsets))
    death = None
    if draw(st.booleans()):
        death = birth + timedelta(days=draw(offsets))
    holds = []
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        start = last + timedelta(days=draw(st.integers(min_value=-2000, max_value=12000)))
        holds.append(Hold(start, start + timedelta(days=draw(spans))))
    return birth, last, death, holds


@given(situations())
def test_never_before_20_years_unless_the_death_rule_applies(situation) -> None:
    birth, last, death, holds = situation
    decision = expiry(birth=birth, last_visit=last, death=death, holds=holds)
    assert decision.expires is not None
    if not decision.rule.startswith(retention.RULE_DEATH) and (
        death is None or death >= add_years(last, retention.DEATH_WITHIN_YEARS)
    ):
        assert decision.expires >= add_years(last, 20)


@given(situations())
def test_never_before_the_28th_birthday(situation) -> None:
    birth, last, death, holds = situation
    decision = expiry(birth=birth, last_visit=last, death=death, holds=holds)
    assert decision.expires is not None
    assert decision.expires >= add_years(birth, 28)


@given(situations(), st.integers(min_value=1, max_value=5000))
def test_a_later_last_visit_never_expires_earlier(situation, later) -> None:
    birth, last, death, holds = situation
    first = expiry(birth=birth, last_visit=last, death=death, holds=holds).expires
    second = expiry(birth=birth, last_visit=last + timedelta(days=later), death=death, holds=holds).expires
    assert first is not None and second is not None
    assert second >= first


@given(situations(), st.integers(min_value=0, max_value=3000))
def test_a_longer_hold_never_expires_earlier(situation, longer) -> None:
    birth, last, death, holds = situation
    assume(holds)
    first = expiry(birth=birth, last_visit=last, death=death, holds=holds).expires
    stretched = [*holds[:-1], Hold(holds[-1].start, holds[-1].end + timedelta(days=longer))]
    second = expiry(birth=birth, last_visit=last, death=death, holds=stretched).expires
    assert first is not None and second is not None
    assert second >= first


@given(situations())
def test_a_hold_never_brings_the_expiry_earlier_and_an_open_one_removes_it(situation) -> None:
    birth, last, death, holds = situation
    plain = expiry(birth=birth, last_visit=last, death=death).expires
    held = expiry(birth=birth, last_visit=last, death=death, holds=holds).expires
    assert plain is not None and held is not None and held >= plain
    if holds:
        opened = [*holds[:-1], Hold(holds[-1].start)]
        assert expiry(birth=birth, last_visit=last, death=death, holds=opened).expires is None
