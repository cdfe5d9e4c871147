"""The agenda's grid: rows of time slots, one column per day (a practitioner's week) or per
practitioner (a day, side by side). Pure logic: the view gives the columns, the opening hours
and the busy intervals; this says, for every cell, what it holds.

A cell is one of:
- `closed`: outside the opening hours (or a day the practice is closed);
- `past`: a free slot that has already begun (not offered for booking);
- `free`: nothing overlaps [slot start, slot end): the agenda offers it for booking;
- `busy`: appointments start within the slot (`items`), or one that started earlier still runs
  (`items` empty, `continued` True).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from hygie.lib.openinghours import OpeningHours

DEFAULT_STEP = 20


@dataclass(frozen=True)
class Busy:
    start: datetime
    end: datetime
    item: Any = None


@dataclass(frozen=True)
class Column:
    key: Hashable
    day: date


@dataclass
class Cell:
    column: Column
    start: datetime
    state: str
    items: list[Any] = field(default_factory=list)
    continued: bool = False


@dataclass
class Row:
    time: time
    cells: list[Cell]


def week_of(day: date) -> list[date]:
    """The seven days, Monday first, of the week holding `day`."""
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=i) for i in range(7)]


def _slot_times(hours: OpeningHours, step: int) -> list[time]:
    """The start of every slot of a day. Opening hours that span midnight, or none, show the
    whole day."""
    opens, closes = hours.opens, hours.closes
    if opens >= closes:
        opens, closes = time(0, 0), time(23, 59, 59)
    times = []
    cursor = datetime.combine(date(2000, 1, 3), opens)
    end = datetime.combine(date(2000, 1, 3), closes)
    while cursor < end:
        times.append(cursor.time())
        cursor += timedelta(minutes=step)
    return times


def build(
    columns: Sequence[Column],
    busy: dict[Hashable, list[Busy]],
    *,
    hours: OpeningHours,
    now: datetime,
    make_aware: Any,
    step: int = DEFAULT_STEP,
) -> list[Row]:
    """The rows of the grid. `busy` holds, per column key, the appointments of that column's day.
    `make_aware(naive)` turns a local wall-clock datetime into an aware one in the practice's
    time zone (the view passes django.utils.timezone.make_aware). Appointments outside the
    opening hours are still shown: before the first slot in the first row, after the last one in
    the last row."""
    if not 5 <= step <= 120:
        raise ValueError("step must be between 5 and 120 minutes")
    times = _slot_times(hours, step)
    rows = [Row(t, []) for t in times]
    for column in columns:
        intervals = sorted(busy.get(column.key, []), key=lambda b: b.start)
        open_day = column.day.isoweekday() in hours.days
        starts = [make_aware(datetime.combine(column.day, t)) for t in times]
        placed: set[int] = set()
        for index, (row, start) in enumerate(zip(rows, starts, strict=True)):
            end = start + timedelta(minutes=step)
            first, last = index == 0, index == len(rows) - 1
            items = []
            for n, b in enumerate(intervals):
                if n in placed:
                    continue
                # An appointment is listed in the slot where it starts; those before the first
                # slot in the first row, those after the last one in the last row.
                if (start <= b.start < end) or (first and b.start < start) or (last and b.start >= end):
                    items.append(b.item)
                    placed.add(n)
            overlapping = any(b.start < end and b.end > start for b in intervals)
            if items:
                cell = Cell(column, start, "busy", items)
            elif overlapping:
                cell = Cell(column, start, "busy", continued=True)
            elif not open_day or not hours.is_open(start):
                cell = Cell(column, start, "closed")
            elif start < now:
                cell = Cell(column, start, "past")
            else:
                cell = Cell(column, start, "free")
            row.cells.append(cell)
    return rows
