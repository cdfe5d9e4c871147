"""The 72-hour clock (GDPR art. 33(1)) and the art. 34 proposal, against cases written from the
text: awareness + 23 h, 47 h, 73 h; times that cannot be; the encryption waiver (ENC-3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hygie.lib import breach
from hygie.lib.breach import Art34, Stage

AWARE = datetime(2025, 11, 14, 9, 30, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("after", "stage", "hours_left"),
    [
        (timedelta(0), Stage.RUNNING, 72),
        (23 * H, Stage.RUNNING, 49),
        (24 * H, Stage.WARN_24, 48),
        (47 * H, Stage.WARN_24, 25),
        (48 * H, Stage.WARN_48, 24),
        (71 * H + timedelta(minutes=59), Stage.WARN_48, 0),
        (72 * H, Stage.OVERDUE, 0),
        (73 * H, Stage.OVERDUE, -1),
    ],
)
def test_it_runs_the_clock_from_awareness(after, stage, hours_left):
    c = breach.clock(AWARE, AWARE + after)
    assert c.stage == stage
    assert c.hours_left == hours_left
    # « 72 heures au plus tard après en avoir pris connaissance »
    assert c.notify_by == datetime(2025, 11, 17, 9, 30, tzinfo=UTC)


def test_it_stops_the_clock_once_notified_or_decided():
    assert breach.clock(AWARE, AWARE + 73 * H, stopped=True).stage == Stage.DONE


def test_a_late_notification_needs_reasons():
    assert not breach.is_late(AWARE, AWARE + 72 * H)
    assert breach.is_late(AWARE, AWARE + 72 * H + timedelta(seconds=1))


NOW = AWARE + 2 * H


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"discovered_at": AWARE, "aware_at": NOW + H}, "futur"),
        ({"discovered_at": AWARE, "aware_at": AWARE - H}, "précéder la découverte"),
        ({"discovered_at": NOW + H, "aware_at": NOW + H}, "futur"),
        ({"discovered_at": AWARE, "aware_at": AWARE, "started_at": AWARE + H}, "suivre sa découverte"),
        ({"discovered_at": AWARE, "aware_at": AWARE, "started_at": AWARE - H, "ended_at": AWARE - 2 * H},
         "précéder son début"),
    ],
)
def test_it_refuses_times_that_cannot_be(kwargs, message):
    with pytest.raises(breach.TimesError, match=message):
        breach.check_times(now=NOW, **kwargs)


def test_it_accepts_possible_times():
    breach.check_times(discovered_at=AWARE, aware_at=AWARE + H, now=NOW, started_at=AWARE - H, ended_at=AWARE)


@pytest.mark.parametrize(
    ("confidentiality", "encrypted_only", "keys_exposed", "proposal"),
    [
        (True, True, False, Art34.WAIVER_ENCRYPTED),  # 34(3)(a), ENC-3
        (True, True, True, Art34.NOTIFY),  # the keys left too: the encryption protects nothing
        (True, False, False, Art34.NOTIFY),
        (False, False, False, Art34.NOT_HIGH_RISK),  # availability only (a ransomware with no leak)
    ],
)
def test_it_proposes_the_art34_decision(confidentiality, encrypted_only, keys_exposed, proposal):
    assert breach.propose_art34(
        confidentiality=confidentiality, encrypted_only=encrypted_only, keys_exposed=keys_exposed
    ) == proposal
