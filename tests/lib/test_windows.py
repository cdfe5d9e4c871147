from datetime import datetime, timedelta

from hygie.lib import windows

T0 = datetime(2025, 3, 3, 10, 0)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_it_flags_the_events_of_a_burst_only():
    events = [(_at(0), 1), (_at(30), 2), (_at(31), 3), (_at(32), 4), (_at(90), 5)]
    assert windows.bursts(events, timedelta(minutes=5), 3) == [2, 3, 4]


def test_it_flags_nothing_below_the_threshold():
    events = [(_at(i * 3), i) for i in range(10)]
    assert windows.bursts(events, timedelta(minutes=5), 3) == []


def test_it_counts_distinct_values_in_a_window():
    events = [(_at(i), i, f"p{i % 4}") for i in range(20)]
    flagged, peak = windows.distinct_bursts(events, timedelta(hours=1), 3)
    assert peak == 4
    assert flagged == list(range(20))  # from the 4th value on, every window holds 4


def test_it_takes_the_median_over_active_hours():
    events = [(_at(0), "a"), (_at(1), "b"), (_at(61), "a"), (_at(200), "a"), (_at(201), "b"), (_at(202), "c")]
    assert windows.hourly_distinct_median(events) == 2
    assert windows.hourly_distinct_median([]) == 0
