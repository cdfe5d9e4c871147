"""hygie.lib.vitals: BMI (WHO: kg / m²), age, plausible ranges, the SVG chart."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from hygie.lib import vitals

# Written from the WHO definition, computed by hand.
BMI_TABLE = [
    (D("70"), D("175"), D("22.9")),
    (D("50"), D("160"), D("19.5")),
    (D("120"), D("180"), D("37.0")),
    (D("3.5"), D("50"), D("14.0")),
]


@pytest.mark.parametrize(("weight", "height", "expected"), BMI_TABLE)
def test_bmi_follows_the_who_formula(weight, height, expected):
    assert vitals.bmi(weight, height) == expected


def test_bmi_needs_both_measures():
    assert vitals.bmi(None, D("170")) is None
    assert vitals.bmi(D("70"), None) is None


@pytest.mark.parametrize(("birth", "today", "years"), [
    (date(1980, 5, 17), date(2025, 5, 16), 44),
    (date(1980, 5, 17), date(2025, 5, 17), 45),
    (date(2000, 2, 29), date(2025, 2, 28), 24),
    (date(2000, 2, 29), date(2025, 3, 1), 25),
])
def test_age_in_whole_years(birth, today, years):
    assert vitals.age(birth, today) == years


@pytest.mark.parametrize(("values", "field"), [
    ({"weight_kg": D("7000")}, "weight_kg"),  # grams typed as kilograms
    ({"temperature": D("98.6")}, "temperature"),  # Fahrenheit
    ({"systolic": D("120")}, "diastolic"),  # half a blood pressure
    ({"systolic": D("80"), "diastolic": D("120")}, "diastolic"),
    ({"pulse": D("0")}, "pulse"),
])
def test_implausible_values_are_refused_in_french(values, field):
    with pytest.raises(vitals.VitalsError) as exc:
        vitals.check(values)
    assert exc.value.field == field
    assert exc.value.args[0][0].isupper()


def test_plausible_values_pass():
    vitals.check({"weight_kg": D("71.5"), "height_cm": D("172"), "systolic": D("130"), "diastolic": D("80"),
                  "pulse": D("64"), "temperature": D("37.2")})


def test_the_chart_places_points_by_date_and_escapes_its_label():
    t = lambda d: datetime(2025, 1, d, tzinfo=UTC)  # noqa: E731
    series = vitals.Series("Poids <x>", "kg", (vitals.Point(t(1), D("70")), vitals.Point(t(2), D("71")),
                                              vitals.Point(t(31), D("72"))))
    svg = vitals.svg(series)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<x>" not in svg and "&lt;x&gt;" in svg
    assert "style=" not in svg and "<script" not in svg  # the strict CSP forbids both
    xs = [float(x) for x in __import__("re").findall(r'<circle cx="([\d.]+)"', svg)]
    # Day 2 sits near day 1, far from day 31: by date, not by index.
    assert xs[1] - xs[0] < (xs[2] - xs[1]) / 10
    assert "dernière 72 kg" in svg


def test_no_points_no_chart():
    assert vitals.svg(vitals.Series("Poids", "kg", ())) == ""
