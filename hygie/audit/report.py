"""The "accès au dossier" report of one patient (GDPR art. 15): who opened or changed the
record, when, what, and why (the reason typed for a break-the-glass access), as rows for the
page and as a PDF to hand to the patient.

Built from the journal only: every event whose patient is this one, newest first.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _

from hygie.audit import conf, labels
from hygie.audit.events import Ev, Outcome
from hygie.audit.models import Event


@dataclass(frozen=True)
class AccessRow:
    at: datetime
    who: str
    role: str
    what: str
    why: str
    outcome: str  # empty when the operation succeeded


def access_rows(patient: Any, *, reasons: bool) -> list[AccessRow]:
    """`patient` was fetched through the access module by the caller. Break-the-glass reasons
    come from the patient's (encrypted) access rows: the journal only points to them. They are
    shown when `reasons` (hygie.access.records.reads_break_glass_reasons: the patient's
    titulaires), "motif masqué" otherwise; a `reason` kept in an event written before the access
    rows existed is treated the same way."""
    texts = {str(a.public_id): a.reason for a in patient.break_glass.all()} if reasons else {}
    events = Event.objects.filter(patient_id=patient.pk).select_related("actor").order_by("-at", "-id")
    return [
        AccessRow(
            at=e.at,
            who=e.actor.display_name if e.actor else _("Hygie (tâche automatique)"),
            role=labels.role_label(e.actor_role) if e.actor else "",
            what=labels.action_label(e.action),
            why=_why(e, texts, reasons),
            outcome="" if e.outcome == Outcome.SUCCESS else labels.outcome_label(e.outcome),
        )
        for e in events
    ]


def _why(e: Event, texts: dict[str, str], visible: bool) -> str:
    access = (e.details or {}).get("access", "") if e.action == Ev.BREAK_GLASS else ""
    if not access and not e.reason:
        return ""
    if not visible:
        return _("motif masqué")
    return texts.get(access) or e.reason


def access_report_pdf(
    *,
    rows: list[AccessRow],
    patient_name: str,
    patient_code: str,
    birth_date: date | None,
    practice_name: str,
    practitioner_name: str,
) -> bytes:
    """A4 PDF. Its metadata name no one: the file may be mailed or stored by the patient."""
    # reportlab (~60 ms of import) when a PDF is made, not with this module: the URL patterns
    # import it, in every process that loads them (docs/performance.md, « Démarrage »).
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
        title=_("Relevé des accès au dossier"), author="Hygie", subject=patient_code, creator="Hygie",
    )
    styles = getSampleStyleSheet()
    small = ParagraphStyle("small", parent=styles["BodyText"], fontSize=8, leading=10)
    now = timezone.localtime()

    def p(text: str, style: ParagraphStyle = styles["BodyText"]) -> Paragraph:
        return Paragraph(escape(text), style)

    story: list = [p(_("Relevé des accès à votre dossier"), styles["Title"])]
    if practice_name:
        story.append(p(practice_name, styles["Heading3"]))
    identity = _("Patient : %(name)s — code %(code)s") % {"name": patient_name, "code": patient_code}
    if birth_date:
        identity += " — " + _("né(e) le %(date)s") % {"date": birth_date.strftime("%d/%m/%Y")}
    story += [
        p(identity),
        p(_("Établi le %(date)s par %(who)s.") % {"date": now.strftime("%d/%m/%Y à %H:%M"), "who": practitioner_name}),
        Spacer(1, 4 * mm),
        p(
            _(
                "Ce relevé liste chaque consultation, modification ou export de votre dossier enregistré "
                "dans le journal des accès du cabinet : qui, quand, quoi et, pour un accès exceptionnel, "
                "pourquoi. Le journal est conservé %(days)s jours ; il est protégé contre toute modification."
            )
            % {"days": conf.retention_days()},
            small,
        ),
        Spacer(1, 4 * mm),
    ]
    header = [_("Date"), _("Qui"), _("Rôle"), _("Quoi"), _("Motif")]
    data = [[p(h, small) for h in header]]
    for row in rows:
        what = row.what + (f" ({row.outcome})" if row.outcome else "")
        data.append([
            p(timezone.localtime(row.at).strftime("%d/%m/%Y %H:%M"), small),
            p(row.who, small), p(row.role, small), p(what, small), p(row.why, small),
        ])
    if not rows:
        data.append([p(_("Aucun accès enregistré."), small), "", "", "", ""])
    table = Table(data, colWidths=[26 * mm, 38 * mm, 32 * mm, 44 * mm, 40 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d8dee8")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    story.append(table)
    doc.build(story)
    return buf.getvalue()
