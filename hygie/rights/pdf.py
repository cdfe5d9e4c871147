"""The access answer (CSP L1111-7, RGPD art. 15): the whole record as a readable PDF.

Identity, antécédents (current text and the dates of its versions), consultations, documents
(listed, and each file attached to the PDF as an embedded file), appointments, and the "accès au
dossier" report that exists (hygie.audit.report). Metadata name no one: the file is handed over.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFName, PDFStream, PDFString
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from hygie.access.records import reads_break_glass_reasons
from hygie.audit import report
from hygie.patients import documents as blobs
from hygie.patients.models import Sex


def _fmt_date(value: Any) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


def _fmt_dt(value: Any) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y %H:%M")


def attachment_name(document: Any, index: int) -> str:
    """A neutral file name: the position and the type, never the title (which may be medical)."""
    return f"document-{index:03d}{blobs.extension(document.content_type)}"


def _embed(canvas: Any, files: list[tuple[str, bytes, str]]) -> None:
    """Attach `files` (name, content, MIME type) to the PDF: the catalog's EmbeddedFiles name tree
    (PDF 1.7, 7.11.4), which readers list as attachments (pdfdetach, Acrobat, Firefox)."""
    if not files:
        return
    doc = canvas._doc
    names: list[Any] = []
    for name, data, mime in sorted(files):
        stream = PDFStream(
            dictionary=PDFDictionary({
                "Type": PDFName("EmbeddedFile"),
                "Subtype": PDFName(mime.replace("/", "#2F")),
                "Params": PDFDictionary({"Size": len(data)}),
            }),
            content=data,
            filters=[],
        )
        spec = PDFDictionary({
            "Type": PDFName("Filespec"),
            "F": PDFString(name),
            "UF": PDFString(name),
            "EF": PDFDictionary({"F": doc.Reference(stream)}),
        })
        names += [PDFString(name), doc.Reference(spec)]
    doc.Catalog.Names = PDFDictionary({"EmbeddedFiles": PDFDictionary({"Names": PDFArray(names)})})


def record_pdf(*, patient: Any, material: dict[str, Any], request: Any, author: Any) -> bytes:
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
        title="Copie du dossier", author="Hygie", subject=patient.code, creator="Hygie",
    )
    styles = getSampleStyleSheet()
    body = styles["BodyText"]
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10)

    def p(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    def table(header: list[str], rows: list[list[str]], widths: list[float]) -> Table:
        data = [[p(h, small) for h in header]] + [[p(c, small) for c in row] for row in rows]
        t = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
        t.setStyle(TableStyle([
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d8dee8")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        return t

    story: list[Any] = [
        p("Copie de votre dossier", styles["Title"]),
        p(f"Établie le {_fmt_dt(timezone.now())} par {author.display_name}, en réponse à votre demande "
          f"reçue le {_fmt_dt(request.received_at)} (Code de la santé publique, art. L1111-7)."),
        Spacer(1, 4 * mm),
        p("Identité", styles["Heading2"]),
    ]
    identity = [
        ["Nom de naissance", patient.birth_name],
        ["Nom d'usage", patient.usage_name or "—"],
        ["Prénoms", patient.first_names],
        ["Date de naissance", _fmt_date(patient.birth_date)],
        ["Sexe", str(Sex(patient.sex).label) if patient.sex in Sex.values else "—"],
        ["INS / NIR", patient.ins or "—"],
        ["Téléphone", patient.phone or "—"],
        ["E-mail", patient.email or "—"],
        ["Adresse", patient.address or "—"],
        ["Code du dossier", patient.code],
    ]
    if patient.death_date:
        identity.append(["Date de décès", _fmt_date(patient.death_date)])
    story.append(table(["Champ", "Valeur"], identity, [50, 130]))

    story += [p("Antécédents", styles["Heading2"]), p(patient.history or "Aucun antécédent renseigné.")]
    revisions = material["history_revisions"]
    if len(revisions) > 1:
        story.append(p(
            "Versions successives : " + ", ".join(_fmt_dt(r.created_at) for r in revisions) + ".", small
        ))

    story.append(p("Consultations", styles["Heading2"]))
    if material["consultations"]:
        for c in material["consultations"]:
            story += [
                p(f"{_fmt_dt(c.date)} — {c.practitioner.display_name}", styles["Heading4"]),
                p(f"Motif : {c.motif}"),
            ]
            if c.observations:
                story.append(p(c.observations))
    else:
        story.append(p("Aucune consultation."))

    story.append(p("Documents", styles["Heading2"]))
    files: list[tuple[str, bytes, str]] = []
    if material["documents"]:
        rows = []
        for n, d in enumerate(material["documents"], 1):
            name = attachment_name(d, n)
            with blobs.open_blob(d.storage_name, patient=patient) as fh:
                files.append((name, fh.read(), d.content_type))
            rows.append([_fmt_date(d.created_at), d.title, d.get_kind_display(), name])
        story += [
            p("Chaque document est joint à ce fichier PDF (pièces jointes, sous le nom indiqué).", small),
            table(["Date", "Titre", "Type", "Pièce jointe"], rows, [24, 80, 36, 40]),
        ]
    else:
        story.append(p("Aucun document."))

    story.append(p("Rendez-vous", styles["Heading2"]))
    if material["appointments"]:
        story.append(table(
            ["Date", "Praticien", "Motif"],
            [[_fmt_dt(a.start), a.practitioner.display_name, a.reason or "—"] for a in material["appointments"]],
            [36, 60, 84],
        ))
    else:
        story.append(p("Aucun rendez-vous enregistré."))

    rows = report.access_rows(patient, reasons=reads_break_glass_reasons(author, patient))
    story += [
        PageBreak(),
        p("Accès à votre dossier", styles["Heading2"]),
        p("Qui a consulté, modifié ou exporté votre dossier, d'après le journal des accès du cabinet.", small),
        table(
            ["Date", "Qui", "Quoi", "Motif"],
            [[_fmt_dt(r.at), f"{r.who} ({r.role})" if r.role else r.who,
              r.what + (f" ({r.outcome})" if r.outcome else ""), r.why] for r in rows]
            or [["—", "Aucun accès enregistré.", "", ""]],
            [28, 52, 60, 40],
        ),
    ]
    doc.build(story, onFirstPage=lambda canvas, _doc: _embed(canvas, files))
    return buf.getvalue()
