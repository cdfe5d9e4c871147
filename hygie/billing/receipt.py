"""The note d'honoraires: a receipt for the patient of one care sheet, as an A4 PDF.

It names the practitioner, the patient, the date of the care, the acts and the amount, and says
whether it was paid (« acquittée ») or not. Its metadata name no one (title and subject: the
care sheet's reference only): the file may be mailed or stored by the patient."""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _

from hygie.lib import money


def _euros(amount: Any) -> str:
    # The PDF's standard fonts have no narrow no-break space: a no-break space instead.
    return money.euros(amount).replace(money.THIN_NBSP, money.NBSP)


def reference(sheet: Any) -> str:
    """A short, stable number for the receipt, from the care sheet's public id (no patient data)."""
    return "NH-" + sheet.public_id.hex[:10].upper()


def receipt_pdf(*, sheet: Any, practice_name: str) -> bytes:
    # reportlab (~60 ms of import) when a PDF is made, not with this module: the URL patterns
    # import it, in every process that loads them (docs/performance.md, « Démarrage »).
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    buf = io.BytesIO()
    number = reference(sheet)
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm, bottomMargin=18 * mm,
        title=_("Note d'honoraires %(number)s") % {"number": number}, author="Hygie", subject=number,
        creator="Hygie",
    )
    styles = getSampleStyleSheet()
    small = ParagraphStyle("small", parent=styles["BodyText"], fontSize=8.5, leading=11)

    def p(text: str, style: ParagraphStyle = styles["BodyText"]) -> Paragraph:
        return Paragraph(escape(text), style)

    practitioner = sheet.practitioner
    patient = sheet.patient
    who = practitioner.display_name
    if practitioner.profession:
        who += f" — {practitioner.profession}"
    story: list[Any] = [p(_("Note d'honoraires"), styles["Title"])]
    if practice_name:
        story.append(p(practice_name, styles["Heading3"]))
    story += [
        p(_("N° %(number)s — établie le %(date)s") % {
            "number": number, "date": timezone.localdate().strftime("%d/%m/%Y"),
        }),
        Spacer(1, 4 * mm),
        p(_("Praticien : %(who)s") % {"who": who}),
        p(_("Patient : %(name)s") % {"name": patient.display_name}),
        Spacer(1, 5 * mm),
    ]
    data = [
        [p(_("Date des soins"), small), p(_("Actes"), small), p(_("Montant"), small)],
        [p(sheet.date.strftime("%d/%m/%Y")), p(sheet.acts), p(_euros(sheet.amount))],
        ["", p(_("Total"), styles["Heading4"]), p(_euros(sheet.amount), styles["Heading4"])],
    ]
    table = Table(data, colWidths=[35 * mm, 95 * mm, 44 * mm])
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
        ("LINEBELOW", (0, 0), (-1, -2), 0.25, colors.HexColor("#d8dee8")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    story += [table, Spacer(1, 6 * mm)]
    if sheet.paid:
        story.append(p(_("Note acquittée : le patient a réglé %(amount)s.") % {"amount": _euros(sheet.amount)}))
    else:
        story.append(p(_("Reste à régler : %(amount)s.") % {"amount": _euros(sheet.amount)}))
    story += [
        Spacer(1, 8 * mm),
        p(
            _(
                "Document remis au patient. Il ne remplace pas la feuille de soins transmise à "
                "l'Assurance maladie."
            ),
            small,
        ),
    ]
    doc.build(story)
    return buf.getvalue()
