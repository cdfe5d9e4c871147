from datetime import UTC, date, datetime, time, timedelta

import pytest

from hygie.lib import agendagrid
from hygie.lib.openinghours import parse

HOURS = parse("08:00-12:00", "1-5")
MONDAY = date(2030, 1, 7)


def aware(naive: datetime) -> datetime:
    return naive.replace(tzinfo=UTC)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return aware(datetime.combine(day, time(hour, minute)))


def grid(busy=None, now=None, days=None, step=20):
    days = days or agendagrid.week_of(MONDAY)
    columns = [agendagrid.Column(d, d) for d in days]
    return agendagrid.build(
        columns, busy or {}, hours=HOURS, now=now or at(MONDAY - timedelta(days=1), 0), make_aware=aware, step=step
    )


def states(rows, column: int) -> list[str]:
    return [row.cells[column].state for row in rows]


def test_it_gives_the_week_monday_first():
    assert agendagrid.week_of(date(2030, 1, 10)) == [MONDAY + timedelta(days=i) for i in range(7)]
    assert agendagrid.week_of(date(2030, 1, 13))[0] == MONDAY


def test_it_offers_free_slots_within_opening_hours_only():
    rows = grid()
    assert [r.time for r in rows][:3] == [time(8, 0), time(8, 20), time(8, 40)]
    assert len(rows) == 12  # 08:00 to 12:00, 20 minutes each
    assert set(states(rows, 0)) == {"free"}
    # Saturday and Sunday: closed (opening days 1-5).
    assert set(states(rows, 5)) == {"closed"} and set(states(rows, 6)) == {"closed"}


def test_it_marks_busy_and_continued_slots():
    appt = agendagrid.Busy(at(MONDAY, 9), at(MONDAY, 9, 45), "rdv")
    rows = grid({MONDAY: [appt]})
    cells = {r.time: r.cells[0] for r in rows}
    assert cells[time(9, 0)].state == "busy" and cells[time(9, 0)].items == ["rdv"]
    assert cells[time(9, 20)].state == "busy" and cells[time(9, 20)].continued
    assert cells[time(9, 40)].state == "busy" and cells[time(9, 40)].continued  # ends at 09:45
    assert cells[time(10, 0)].state == "free"
    assert cells[time(8, 40)].state == "free"


def test_it_lists_an_appointment_in_the_slot_where_it_starts():
    appt = agendagrid.Busy(at(MONDAY, 9, 10), at(MONDAY, 9, 20), "rdv")
    cells = {r.time: r.cells[0] for r in grid({MONDAY: [appt]})}
    assert cells[time(9, 0)].items == ["rdv"]
    assert cells[time(9, 20)].state == "free"


def test_it_still_shows_appointments_outside_opening_hours():
    early = agendagrid.Busy(at(MONDAY, 7), at(MONDAY, 7, 20), "tôt")
    late = agendagrid.Busy(at(MONDAY, 18), at(MONDAY, 18, 20), "tard")
    rows = grid({MONDAY: [early, late]})
    assert rows[0].cells[0].items == ["tôt"]
    assert rows[-1].cells[0].items == ["tard"]


def test_it_does_not_offer_past_slots():
    now = at(MONDAY, 9, 5)
    cells = {r.time: r.cells[0] for r in grid(now=now)}
    assert cells[time(8, 40)].state == "past"
    assert cells[time(9, 0)].state == "past"  # already begun
    assert cells[time(9, 20)].state == "free"
    assert {r.cells[1].state for r in grid(now=now)} == {"free"}  # Tuesday


def test_it_puts_practitioners_side_by_side():
    columns = [agendagrid.Column("alice", MONDAY), agendagrid.Column("bob", MONDAY)]
    busy = {"alice": [agendagrid.Busy(at(MONDAY, 8), at(MONDAY, 8, 20), "a")]}
    rows = agendagrid.build(columns, busy, hours=HOURS, now=at(MONDAY, 0), make_aware=aware)
    assert [c.state for c in rows[0].cells] == ["busy", "free"]


def test_it_refuses_an_absurd_step():
    with pytest.raises(ValueError):
        grid(step=1)
