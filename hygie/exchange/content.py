"""What leaves with an archive or a message: the chosen parts of one record, as files.

`Selection` says what was chosen (a summary of the record, consultations, documents), all
fetched through hygie.access.records by the caller; `items()` turns it into `Item`s that open
lazily: a document is decrypted while the archive reads it (hygie.patients.documents.open_blob),
never whole in memory; the summary and the consultations are small PDFs made here.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any
from xml.sax.saxutils import escape

from django.utils import timezone

from hygie.patients import documents as blobs
from hygie.patients.models import Consultation, Document, Patient


@dataclass
class Selection:
    patient: Patient
    summary: bool = False
    consultations: list[Consultation] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.summary or self.consultations or self.documents)


@dataclass(frozen=True)
class Item:
    name: str  # in the archive (its headers are encrypted) or the XDM package
    title: str
    content_type: str
    extension: str
    size: int
    open: Callable[[], IO[bytes]]


def _slug(text: str, limit: int = 60) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", plain).strip("-").lower()
    return slug[:limit].strip("-") or "document"


def _pdf(title: str, blocks: list[tuple[str, str]], patient: Patient) -> bytes:
    # reportlab (~60 ms of import) when a PDF is made, not with this module: the URL patterns
    # import it, in every process that loads them (docs/performance.md, « Démarrage »).
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm, bottomMargin=18 * mm,
        title=title, author="Hygie", creator="Hygie", subject=patient.code,
    )
    styles = getSampleStyleSheet()
    story: list[Any] = [Paragraph(escape(title), styles["Title"])]
    identity = f"{patient.display_name} — né(e) le {patient.birth_date:%d/%m/%Y}"
    if patient.ins:
        identity += f" — INS {patient.ins}"
    story += [Paragraph(escape(identity), styles["Heading3"]),
              Paragraph(escape(f"Établi le {timezone.localtime():%d/%m/%Y à %H:%M} par Hygie."), styles["BodyText"]),
              Spacer(1, 5 * mm)]
    for heading, text in blocks:
        story.append(Paragraph(escape(heading), styles["Heading4"]))
        for line in (text or "—").splitlines() or ["—"]:
            story.append(Paragraph(escape(line) or "&nbsp;", styles["BodyText"]))
        story.append(Spacer(1, 3 * mm))
    doc.build(story)
    return buf.getvalue()


def summary_pdf(patient: Patient) -> bytes:
    return _pdf("Synthèse du dossier", [("Antécédents", patient.history)], patient)


def consultations_pdf(patient: Patient, consultations: list[Consultation]) -> bytes:
    blocks = [
        (f"{timezone.localtime(c.date):%d/%m/%Y} — {c.motif}", c.observations)
        for c in sorted(consultations, key=lambda c: c.date)
    ]
    return _pdf("Consultations", blocks, patient)


def _memory(data: bytes) -> Callable[[], IO[bytes]]:
    return lambda: io.BytesIO(data)


def items(selection: Selection) -> list[Item]:
    patient = selection.patient
    out: list[Item] = []
    if selection.summary:
        data = summary_pdf(patient)
        out.append(Item("synthese.pdf", "Synthèse du dossier", "application/pdf", ".pdf", len(data), _memory(data)))
    if selection.consultations:
        data = consultations_pdf(patient, selection.consultations)
        out.append(Item("consultations.pdf", "Consultations", "application/pdf", ".pdf", len(data), _memory(data)))
    used: set[str] = set()
    for n, doc in enumerate(selection.documents, 1):
        ext = blobs.extension(doc.content_type)
        name = f"documents/{n:02d}-{_slug(doc.title)}{ext}"
        while name in used:
            name = name.replace(ext, f"-{n}{ext}", 1) if ext else name + "-"
        used.add(name)
        out.append(
            Item(
                name, doc.title, doc.content_type, ext, doc.size,
                (lambda d=doc: blobs.open_blob(d.storage_name, patient=patient)),
            )
        )
    return out
