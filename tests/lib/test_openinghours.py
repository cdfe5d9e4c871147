from datetime import datetime

import pytest

from hygie.lib.env import ConfigError
from hygie.lib.openinghours import parse, parse_days


def test_it_opens_monday_to_saturday_from_7_to_20_by_default():
    hours = parse("07:00-20:00", "1-6")
    assert hours.is_open(datetime(2025, 3, 3, 7, 0))  # a Monday
    assert hours.is_open(datetime(2025, 3, 8, 19, 59))  # a Saturday
    assert not hours.is_open(datetime(2025, 3, 3, 20, 0))
    assert not hours.is_open(datetime(2025, 3, 3, 6, 59))
    assert not hours.is_open(datetime(2025, 3, 9, 10, 0))  # a Sunday


def test_it_accepts_hours_across_midnight():
    hours = parse("22:00-06:00", "1-7")
    assert hours.is_open(datetime(2025, 3, 3, 23, 0))
    assert hours.is_open(datetime(2025, 3, 3, 5, 0))
    assert not hours.is_open(datetime(2025, 3, 3, 12, 0))


def test_it_reads_lists_and_ranges_of_days():
    assert parse_days("1-3,5,7") == {1, 2, 3, 5, 7}


@pytest.mark.parametrize(("hours", "days"), [("7h-20h", "1-6"), ("07:00-25:00", "1-6"), ("07:00-20:00", "0-6"),
                                             ("07:00-20:00", "6-1"), ("07:00-20:00", "")])
def test_it_refuses_what_it_cannot_read_in_french(hours, days):
    with pytest.raises(ConfigError, match="HYGIE_OPENING"):
        parse(hours, days)
