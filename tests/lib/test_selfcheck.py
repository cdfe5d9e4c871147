"""The checklist's pure rules, against tables written from the texts (issue 12, seeds 002, 003)."""

from datetime import date

import pytest

from hygie.lib import selfcheck
from hygie.lib.selfcheck import OK, TODO, UNKNOWN, Scored

TODAY = date(2026, 6, 15)


@pytest.mark.parametrize(
    ("answer", "declared_on", "expected"),
    [
        # Nobody declared: unknown, never ok.
        ("ok", None, UNKNOWN),
        ("", date(2026, 6, 1), UNKNOWN),
        # Declared done: ok for one year (issue 12), then back to "to check".
        ("ok", date(2026, 6, 15), OK),
        ("ok", date(2025, 6, 16), OK),  # 364 days ago
        ("ok", date(2025, 6, 15), TODO),  # 365 days ago: expired
        ("ok", date(2024, 1, 1), TODO),
        # Declared "not yet": to do.
        ("todo", date(2026, 6, 1), TODO),
    ],
)
def test_it_lets_a_declaration_hold_one_year(answer, declared_on, expected):
    assert selfcheck.declared_status(answer, declared_on, TODAY) == expected


@pytest.mark.parametrize(
    ("last", "due"),
    [(None, True), (date(2026, 1, 1), False), (date(2025, 6, 16), False), (date(2025, 6, 15), True)],
)
def test_it_asks_for_training_every_year(last, due):
    # Seed 002: « une courte mise à jour chaque année ».
    assert selfcheck.training_due(last, TODAY) is due


def test_it_takes_the_lock_delay_of_seed_003():
    # Seed 003: « verrouillage automatique (3-5 minutes d'inactivité) ».
    assert selfcheck.SCREEN_LOCK_MAX_MINUTES == 5


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [([], UNKNOWN), ([UNKNOWN], UNKNOWN), ([OK, UNKNOWN], OK), ([OK, TODO], TODO), ([UNKNOWN, TODO], TODO)],
)
def test_it_combines_sources_with_todo_first(statuses, expected):
    assert selfcheck.combine(statuses) == expected


@pytest.mark.parametrize(
    ("username", "first", "last", "named"),
    [
        ("cdurand", "Claire", "Durand", True),
        ("alice", "Alice", "Martin", True),
        ("accueil", "Accueil", "Cabinet", False),
        ("Secretariat2", "Poste", "Accueil", False),
        ("cabinet-1", "Cabinet", "Durand", False),
        ("jdupont", "", "Dupont", False),
        ("jdupont", "Jean", " ", False),
        ("Comptabilité", "Léa", "Roux", False),
    ],
)
def test_it_recognises_a_person_s_account(username, first, last, named):
    assert selfcheck.is_named_account(username, first, last) is named


def test_it_scores_the_share_of_risk_covered_and_unknown_counts_as_not_done():
    items = [Scored("a", OK, 3), Scored("b", TODO, 1), Scored("c", UNKNOWN, 1)]
    assert selfcheck.score(items) == 60
    assert selfcheck.score([Scored("a", UNKNOWN, 3)]) == 0
    assert selfcheck.score([Scored("a", OK, 3), Scored("b", OK, 1)]) == 100
    assert selfcheck.score([]) == 0


def test_it_orders_next_steps_by_risk_then_known_gaps_then_age():
    items = [
        Scored("low-todo", TODO, 1),
        Scored("high-unknown", UNKNOWN, 3),
        Scored("high-todo-recent", TODO, 3),
        Scored("high-todo-old", TODO, 3),
        Scored("done", OK, 3),
        Scored("mid-todo", TODO, 2),
    ]
    since = {"high-todo-recent": date(2026, 6, 1), "high-todo-old": date(2026, 1, 1)}
    assert selfcheck.next_steps(items, since) == [
        "high-todo-old", "high-todo-recent", "high-unknown", "mid-todo", "low-todo",
    ]


def test_it_gives_the_trend_in_points():
    assert selfcheck.trend(70, 55) == 15
    assert selfcheck.trend(40, 55) == -15
    assert selfcheck.trend(40, None) is None
