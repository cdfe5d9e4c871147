"""Letters and certificates: fill a practitioner's template for one patient, render it to PDF.

Only the known fields between braces are replaced (never str.format, which would let a template
reach Python attributes); an unknown {champ} stays as typed, for the practitioner to see.
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from hygie.lib import vitals

FIELDS = {
    "nom": "nom d'usage (ou de naissance) du patient",
    "nom_naissance": "nom de naissance",
    "prenom": "prénoms",
    "date_naissance": "date de naissance (JJ/MM/AAAA)",
    "age": "âge en années",
    "date": "date du jour (JJ/MM/AAAA)",
    "praticien": "votre nom",
}
_FIELD = re.compile(r"\{([a-z_]+)\}")


def values_for(patient: Any, author: Any, today: date) -> dict[str, str]:
    return {
        "nom": patient.last_name.upper(),
        "nom_naissance": patient.birth_name.upper(),
        "prenom": patient.first_names,
        "date_naissance": patient.birth_date.strftime("%d/%m/%Y"),
        "age": str(vitals.age(patient.birth_date, today)),
        "date": today.strftime("%d/%m/%Y"),
        "praticien": author.display_name,
    }


def fill(text: str, values: dict[str, str]) -> str:
    return _FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def render_pdf(*, author: Any, title: str, body: str, when: date) -> bytes:
    """An A4 page: the practitioner's name and profession, the place for the date, the text, the
    signature. Metadata carry no patient name (the title is the letter's, chosen by the author)."""
    # reportlab (~60 ms of import) when a PDF is made, not with this module: the URL patterns
    # import it, in every process that loads them (docs/performance.md, « Démarrage »).
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    from hygie.practices.models import Practice

    practice = Practice.current()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=22 * mm, rightMargin=22 * mm, topMargin=20 * mm, bottomMargin=20 * mm,
        title="Courrier", author="Hygie", creator="Hygie",
    )
    styles = getSampleStyleSheet()
    normal = ParagraphStyle("body", parent=styles["Normal"], fontSize=11, leading=15)
    head = ParagraphStyle("head", parent=normal, fontName="Helvetica-Bold")
    right = ParagraphStyle("right", parent=normal, alignment=2)
    flow: list[Any] = [Paragraph(escape(author.display_name), head)]
    profession = getattr(author, "profession", "")
    if profession:
        flow.append(Paragraph(escape(profession), normal))
    if practice is not None and practice.name:
        flow.append(Paragraph(escape(practice.name), normal))
    flow += [
        Spacer(1, 10 * mm),
        Paragraph(f"Le {when.strftime('%d/%m/%Y')}", right),
        Spacer(1, 8 * mm),
        Paragraph(escape(title), ParagraphStyle("title", parent=head, fontSize=13, leading=17)),
        Spacer(1, 6 * mm),
    ]
    for block in re.split(r"\n\s*\n", body.replace("\r\n", "\n")):
        flow.append(Paragraph(escape(block).replace("\n", "<br/>"), normal))
        flow.append(Spacer(1, 3 * mm))
    flow += [Spacer(1, 14 * mm), Paragraph(escape(author.display_name), right)]
    doc.build(flow)
    return buf.getvalue()
