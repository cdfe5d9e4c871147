"""The poster: seed 003's checklist « à afficher dans le cabinet » on one A4 page, with the
practice's ticks and the date, to print and put up. Nothing on it names a patient.

At the bottom, the fiche réflexe: first steps and contacts in case of incident (seed 003,
« Conduite à tenir en cas d'incident »). `incident_contacts` returns the practice's own
contacts from the incidents capability (hygie.incidents.fiche), printed below the national ones.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _

from hygie.checklist import catalogue
from hygie.checklist.board import Board
from hygie.lib.selfcheck import OK, TODO

# Words rather than box glyphs: readable from across the room, and by pdftotext.
TICK = {OK: "FAIT", TODO: "À FAIRE"}
UNKNOWN_MARK = "À VÉRIFIER"

FIRST_STEPS = [
    "Isoler immédiatement le poste compromis (débrancher le câble réseau, couper le Wi-Fi).",
    "Ne pas éteindre brutalement si un chiffrement est en cours.",
    "Préserver les preuves : noter date et heure, photographier les écrans, garder les journaux.",
    "Appeler 17Cyber, puis le CSIRT régional ou le prestataire de confiance.",
    "Ne jamais payer de rançon sans avis d'expert ; ne pas reconnecter les sauvegardes avant expertise.",
    "Violation de données : déclaration à la CNIL dans les 72 heures (RGPD art. 33).",
]
NATIONAL_CONTACTS = [
    ("17Cyber (Police, Gendarmerie, cybermalveillance.gouv.fr)", "17cyber.gouv.fr — 24 h/24, 7 j/7"),
    ("CNIL, notifier une violation de données", "notifications.cnil.fr"),
]


def incident_contacts() -> list[tuple[str, str]]:
    """The practice's own incident contacts (regional CSIRT, provider, referent, CNIL contact,
    insurer), as filled in on the incident page (hygie.incidents.fiche). None filled in: the
    poster prints blank lines to fill in by hand."""
    from hygie.incidents import fiche

    return fiche.filled_contacts()


def poster_pdf(board: Board, *, practice_name: str, today: date,
               contacts: Callable[[], list[tuple[str, str]]] = incident_contacts) -> bytes:
    # reportlab (~60 ms of import) when a PDF is made, not with this module: the URL patterns
    # import it, in every process that loads them (docs/performance.md, « Démarrage »).
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=12 * mm, bottomMargin=10 * mm,
        title=_("Check-list de sécurité du cabinet"), author="Hygie", creator="Hygie",
    )
    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=9.5, leading=12)
    small = ParagraphStyle("small", parent=styles["BodyText"], fontSize=8, leading=10)
    section = ParagraphStyle("section", parent=styles["Heading3"], fontSize=11, spaceBefore=5, spaceAfter=2)

    def p(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text), style)

    by_id = {row.item.id: row for row in board.rows}
    story: list = [p(_("Check-list de sécurité du cabinet"), styles["Title"])]
    if practice_name:
        story.append(p(practice_name, styles["Heading3"]))
    story.append(p(_("État au %(date)s — score %(score)s/100. « À VÉRIFIER » : personne ne l'a encore vérifié.") % {
        "date": today.strftime("%d/%m/%Y"), "score": board.score}, small))
    for sec in catalogue.SECTIONS:
        items = [item for item in catalogue.POSTER if item.section == sec]
        if not items:
            continue
        story.append(p(str(sec.title), section))
        data = []
        for item in items:
            row = by_id[item.id]
            mark = TICK.get(row.status, UNKNOWN_MARK)
            data.append([p(mark), p(str(item.label))])
        table = Table(data, colWidths=[24 * mm, 154 * mm])
        table.setStyle(TableStyle([
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d8dee8")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ]))
        story.append(table)
    story += [Spacer(1, 4 * mm), p(_("Fiche réflexe en cas d'incident"), section)]
    story += [p(f"{n}. {step}", small) for n, step in enumerate(FIRST_STEPS, 1)]
    rows = [[p(who, small), p(how, small)] for who, how in NATIONAL_CONTACTS]
    own = contacts()
    rows += [[p(who, small), p(how, small)] for who, how in own]
    if not own:
        blank = "." * 54
        rows += [
            [p(_("Prestataire informatique"), small), p(blank, small)],
            [p(_("CSIRT régional"), small), p(blank, small)],
            [p(_("Référent sécurité du cabinet"), small), p(blank, small)],
        ]
    contacts_table = Table(rows, colWidths=[70 * mm, 108 * mm])
    contacts_table.setStyle(TableStyle([
        ("BOX", (0, 0), (-1, -1), 0.5, colors.HexColor("#9aa5b4")),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d8dee8")),
    ]))
    story += [Spacer(1, 2 * mm), contacts_table]
    doc.build(story)
    return buf.getvalue()
