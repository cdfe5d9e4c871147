"""Vital signs: plausible ranges, the body mass index, age, and the small evolution charts of the
record (SVG built here, on the server: no script, no style attribute, so the strict CSP holds).

Pure: no Django. Values arrive as Decimal (what the encrypted fields give back) or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape, quoteattr


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    unit: str
    low: Decimal
    high: Decimal
    places: int


# Ranges wide enough for any living patient (a newborn's weight, a fever, a hypertensive crisis):
# they catch a slip of the keyboard (a weight typed in grams, a temperature in Fahrenheit), not a
# clinical judgement.
MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure("weight_kg", "Poids", "kg", Decimal("0.3"), Decimal("400"), 1),
        Measure("height_cm", "Taille", "cm", Decimal("20"), Decimal("260"), 0),
        Measure("systolic", "Pression artérielle systolique", "mmHg", Decimal("40"), Decimal("300"), 0),
        Measure("diastolic", "Pression artérielle diastolique", "mmHg", Decimal("20"), Decimal("200"), 0),
        Measure("pulse", "Pouls", "/min", Decimal("20"), Decimal("250"), 0),
        Measure("temperature", "Température", "°C", Decimal("30"), Decimal("45"), 1),
    )
}


class VitalsError(ValueError):
    """A value outside its plausible range; the message is French and names the measure."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def problems(values: dict[str, Decimal | None]) -> list[VitalsError]:
    """Every implausible value, and a blood pressure given by half or upside down."""
    found: list[VitalsError] = []
    for name, value in values.items():
        if value is None or name not in MEASURES:
            continue
        m = MEASURES[name]
        if not m.low <= value <= m.high:
            found.append(VitalsError(
                name, f"{m.label} : saisissez une valeur entre {_fr(m.low)} et {_fr(m.high)} {m.unit}."
            ))
    systolic, diastolic = values.get("systolic"), values.get("diastolic")
    if (systolic is None) != (diastolic is None):
        found.append(VitalsError(
            "diastolic" if diastolic is None else "systolic",
            "Pression artérielle : saisissez la systolique et la diastolique.",
        ))
    elif systolic is not None and diastolic is not None and diastolic >= systolic:
        found.append(VitalsError(
            "diastolic", "Pression artérielle : la diastolique doit être inférieure à la systolique."
        ))
    return found


def check(values: dict[str, Decimal | None]) -> None:
    """Raise the first of `problems`."""
    found = problems(values)
    if found:
        raise found[0]


def bmi(weight_kg: Decimal | None, height_cm: Decimal | None) -> Decimal | None:
    """Body mass index, kg/m², one decimal (WHO definition: weight / height²)."""
    if weight_kg is None or height_cm is None or height_cm <= 0:
        return None
    metres = height_cm / Decimal(100)
    return (weight_kg / (metres * metres)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def age(birth: date, today: date) -> int:
    """Age in whole years on `today` (a 29 February birthday counts from 1 March)."""
    years = today.year - birth.year
    if (today.month, today.day) < (birth.month, birth.day):
        years -= 1
    return years


def _fr(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.replace(".", ",")


@dataclass(frozen=True)
class Point:
    when: datetime
    value: Decimal


@dataclass(frozen=True)
class Series:
    label: str
    unit: str
    points: tuple[Point, ...]
    # A second line on the same chart (the diastolic under the systolic).
    second: tuple[Point, ...] = ()


WIDTH, HEIGHT, PAD_X, PAD_TOP, PAD_BOTTOM = 320, 120, 44, 14, 26


def svg(series: Series) -> str:
    """A small line chart of one measure over time, as SVG markup (escaped here).

    role="img" with a French label that says the last value; the page also shows the values in a
    table, the accessible equivalent. Points are placed by date, not by index."""
    points = [*series.points, *series.second]
    if not points:
        return ""
    times = [p.when.timestamp() for p in points]
    values = [p.value for p in points]
    t0, t1 = min(times), max(times)
    v0, v1 = min(values), max(values)
    if v0 == v1:
        v0, v1 = v0 - 1, v1 + 1
    span_t = (t1 - t0) or 1.0
    inner_w = WIDTH - 2 * PAD_X
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def xy(p: Point) -> tuple[float, float]:
        x = PAD_X + inner_w * ((p.when.timestamp() - t0) / span_t if t1 > t0 else 0.5)
        y = PAD_TOP + inner_h * float((v1 - p.value) / (v1 - v0))
        return round(x, 1), round(y, 1)

    last = series.points[-1] if series.points else series.second[-1]
    label = f"{series.label} : {len(series.points)} mesure(s), dernière {_fr(last.value)} {series.unit}"
    parts = [
        f'<svg class="vital-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label={quoteattr(label)} xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
        f'<line x1="{PAD_X}" y1="{HEIGHT - PAD_BOTTOM}" x2="{WIDTH - PAD_X}" y2="{HEIGHT - PAD_BOTTOM}" '
        'stroke="#5b6677" stroke-width="1"/>',
        f'<text x="{PAD_X - 4}" y="{PAD_TOP + 4}" text-anchor="end" font-size="11" fill="#1d2430">{_fr(v1)}</text>',
        f'<text x="{PAD_X - 4}" y="{HEIGHT - PAD_BOTTOM}" text-anchor="end" font-size="11" '
        f'fill="#1d2430">{_fr(v0)}</text>',
        f'<text x="{PAD_X}" y="{HEIGHT - 8}" font-size="11" fill="#1d2430">'
        f'{points[times.index(t0)].when.strftime("%d/%m/%Y")}</text>',
        f'<text x="{WIDTH - PAD_X}" y="{HEIGHT - 8}" text-anchor="end" font-size="11" fill="#1d2430">'
        f'{points[times.index(t1)].when.strftime("%d/%m/%Y")}</text>',
    ]
    for line, colour in ((series.points, "#1f5f8b"), (series.second, "#a4262c")):
        if not line:
            continue
        coords = [xy(p) for p in sorted(line, key=lambda p: p.when)]
        if len(coords) > 1:
            path = " ".join(f"{x},{y}" for x, y in coords)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.extend(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>' for x, y in coords)
    parts.append("</svg>")
    return "".join(parts)
