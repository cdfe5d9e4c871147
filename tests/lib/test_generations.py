from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from hygie.lib.generations import kept

PARIS = ZoneInfo("Europe/Paris")


def _daily(days: int, start: datetime = datetime(2026, 1, 1, 1, tzinfo=UTC)) -> dict[str, datetime]:
    return {f"s{n:04d}": start + timedelta(days=n) for n in range(days)}


def test_it_keeps_7_daily_4_weekly_12_monthly_of_a_year_of_daily_backups():
    times = _daily(400)
    keep = kept(times, daily=7, weekly=4, monthly=12, tz=PARIS)
    newest = sorted(times.values())[-1]
    assert max(times[n] for n in keep) == newest
    days = {times[n].astimezone(PARIS).date() for n in keep}
    # 7 most recent days, plus one per week for 4 weeks and one per month for 12 months, overlapping.
    assert all((newest - timedelta(days=d)).astimezone(PARIS).date() in days for d in range(7))
    months = {(times[n].year, times[n].month) for n in keep}
    assert len(months) == 12
    assert 12 <= len(keep) <= 7 + 4 + 12


def test_it_keeps_the_newest_of_a_day_with_several_backups():
    base = datetime(2026, 3, 10, 8, tzinfo=UTC)
    times = {"morning": base, "noon": base + timedelta(hours=4), "evening": base + timedelta(hours=9)}
    assert kept(times, daily=7, weekly=0, monthly=0, tz=PARIS) == {"evening"}


def test_days_are_the_practices_days():
    # 23:30 UTC on 10 March is 00:30 on 11 March in Paris: same local day as the next one.
    times = {"a": datetime(2026, 3, 10, 23, 30, tzinfo=UTC), "b": datetime(2026, 3, 11, 10, tzinfo=UTC)}
    assert kept(times, daily=2, weekly=0, monthly=0, tz=PARIS) == {"b"}
    assert kept(times, daily=2, weekly=0, monthly=0, tz=UTC) == {"a", "b"}


@given(st.lists(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1)), min_size=1, max_size=60))
def test_it_always_keeps_the_newest_and_never_more_than_the_rules_allow(moments):
    times = {f"s{i}": m.replace(tzinfo=UTC) for i, m in enumerate(moments)}
    keep = kept(times, daily=7, weekly=4, monthly=12, tz=PARIS)
    newest = max(times, key=lambda n: (times[n], n))
    assert newest in keep
    assert len(keep) <= 1 + 7 + 4 + 12
