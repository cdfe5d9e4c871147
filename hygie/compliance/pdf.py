"""The PDFs of the compliance capability, in French: the register laid out like the CNIL model
(a header page with the controller, the DPO and the list of activities, then one sheet per
activity), the processors register, and the information notice (A4 poster for the waiting room
and a handout). Written from the register dict (hygie.compliance.register.build): nothing here
reads the database, and nothing names a patient.

Imported by the views that make a PDF when they make it, not with the URL patterns: reportlab
costs ~60 ms of import to every process that loads them (docs/performance.md, « Démarrage »).
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from hygie.compliance import register as reg
from hygie.compliance.register import TODO, day
from hygie.lib import gdpr

_styles = getSampleStyleSheet()
BODY = ParagraphStyle("body", parent=_styles["BodyText"], fontSize=9, leading=11.5)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=8, leading=10)
H1 = _styles["Title"]
H2 = ParagraphStyle("h2", parent=_styles["Heading2"], fontSize=13, spaceBefore=6, spaceAfter=4)
H3 = ParagraphStyle("h3", parent=_styles["Heading3"], fontSize=10.5, spaceBefore=4, spaceAfter=2)
POSTER_HEAD = ParagraphStyle("posterhead", parent=BODY, fontName="Helvetica-Bold", fontSize=11, leading=13.5)
POSTER_BODY = ParagraphStyle("posterbody", parent=BODY, fontSize=9.5, leading=12)
LABEL_W, VALUE_W = 48 * mm, 130 * mm


def _p(text: Any, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(escape(str(text)), style)


def _lines(values: Any) -> Paragraph:
    if isinstance(values, (list, tuple)):
        text = "<br/>".join("• " + escape(str(v)) for v in values) if values else "—"
        return Paragraph(text, BODY)
    return _p(values if values not in (None, "") else TODO)


def _grid(rows: list[tuple[str, Any]]) -> Table:
    table = Table([[_p(label, SMALL), _lines(value)] for label, value in rows], colWidths=[LABEL_W, VALUE_W])
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa5b4")),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef2f7")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table


def _doc(buf: io.BytesIO, title: str) -> SimpleDocTemplate:
    return SimpleDocTemplate(buf, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=14 * mm,
                             bottomMargin=14 * mm, title=title, author="Hygie", creator="Hygie")


def register_pdf(register: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    c = register["controller"]
    story: list[Any] = [_p("Registre des activités de traitement", H1),
                        _p(f"Article 30 du RGPD — modèle de la CNIL. Généré par {register['software']} le "
                           f"{day(register['generated_on'])}, à partir de la configuration du logiciel.", SMALL)]
    if register.get("version"):
        story.append(_p(f"Version {register['version']['sha256'][:16]}… (empreinte SHA-256 au journal).", SMALL))
    if register["missing"]:
        story += [Spacer(1, 3 * mm), _p("À compléter dans le profil du cabinet :", H3), _lines(register["missing"])]
    contact = c["contact"]
    story += [
        _p("Responsable du traitement", H2),
        _grid([
            ("Nom du cabinet", c["name"]), ("Type d'exercice", c["practice_type"]), ("Adresse", c["address"]),
            ("SIRET", c["siret"] or "—"), ("FINESS", c["finess"] or "—"),
            ("Praticiens titulaires", c["titulaires"] or TODO),
            ("Responsables conjoints", c["joint_controllers"] or "—"),
            ("Hébergement du logiciel", c["hosting"]),
        ]),
        _p("Contact pour la protection des données", H2),
        _grid([("Fonction", contact["kind"]), ("Nom", contact["name"]), ("Courriel", contact["email"]),
               ("Téléphone", contact["phone"] or "—")]),
        _p("Délégué à la protection des données (DPO)", H3),
        _p(("Désigné : " + register["dpo"]["name"] + " — n° " + (register["dpo"]["designation"] or TODO))
           if register["dpo"] else ("Obligatoire pour ce type d'exercice (MSP, CPTS) : " + TODO)
           if register["dpo_required"] else "Non obligatoire pour ce type d'exercice ; non désigné."),
        _p("Analyse d'impact (AIPD)", H3),
        _p(register["aipd"]["result"] + (f" Critères renseignés le {day(register['aipd']['screened_on'])}."
                                          if register["aipd"]["screened_on"] else "")),
        _p("Activités de traitement", H2),
        _lines([a["name"] for a in register["activities"]]),
    ]
    for activity in register["activities"]:
        a = reg.flat(activity)
        m = activity["security_measures"]
        story += [PageBreak(), _p(activity["name"], H2), _grid([
            ("Date de création", day(activity["created_on"])),
            ("Dernière mise à jour", day(activity["updated_on"])),
            ("Responsables conjoints", a["joint_controllers"] or "—"),
            ("Logiciel", a["software"]),
            ("Finalités", a["purposes"]),
            ("Base légale", a.get("legal_basis", "")),
            ("Catégories de personnes", a["data_subjects"]),
            ("Catégories de données", a["data_categories"]),
            ("Données sensibles", a["sensitive_data"] or "non"),
            ("Durées de conservation", a["retention"]),
            ("Destinataires", a["recipients"]),
            ("Transferts hors UE", a["transfers"]),
        ]), _p("Mesures de sécurité", H3),
            _grid([(label, m.get(key, [])) for key, label in gdpr.MEASURE_HEADINGS])]
    _doc(buf, "Registre des activités de traitement").build(story)
    return buf.getvalue()


def processors_pdf(register: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    story: list[Any] = [_p("Registre des sous-traitants", H1),
                        _p(f"{register['controller']['name']} — généré le {day(register['generated_on'])}.", SMALL)]
    if register["warnings"]:
        story += [_p("Points à régler", H3), _lines(register["warnings"])]
    if not register["processors"]:
        story.append(_p("Aucun sous-traitant enregistré."))
    for p in register["processors"]:
        story.append(KeepTogether([_p(p["name"], H2), _grid([
            ("Rôle", p["service"]), ("Ce qu'il fait", p["purpose"] or TODO), ("Données", p["data_seen"]),
            ("Lieu des données", (p["location"] or TODO) + ("" if p["in_eu"] else " (hors UE)")),
            ("Garanties de transfert", p["transfer_safeguards"] or "—"),
            ("Certificat HDS", p["hds_number"] or ("AUCUN" if p["health_data"] else "—")),
            ("Validité HDS", day(p["hds_expires_on"]) if p["hds_expires_on"] else "—"),
            ("Contrat (art. 28)", (f"signé le {day(p['contract_signed_on'])}" if p["contract_signed_on"] else "oui")
             if p["contract"] else "MANQUANT"),
            ("Destination de sauvegarde", p["backup_destination"] or "—"),
        ])]))
    _doc(buf, "Registre des sous-traitants").build(story)
    return buf.getvalue()


# --- The information notice ------------------------------------------------------------------------

RIGHTS = [
    "Accéder à vos données et à votre dossier médical (au plus tard 8 jours, 2 mois pour les informations "
    "de plus de 5 ans).",
    "Faire rectifier des informations inexactes.",
    "Vous opposer ou demander une limitation, dans les cas prévus par la loi ; l'effacement n'est pas possible "
    "pendant la durée légale de conservation du dossier médical.",
    "Recevoir les données que vous avez fournies dans un format lisible par une machine (portabilité).",
    "Réponse dans un délai d'un mois, prolongeable de deux mois si la demande est complexe (vous en serez "
    "informé dans le premier mois).",
]


def notice_sections(register: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The notice's content, in plain French, written from the register."""
    c = register["controller"]
    contact = c["contact"]
    who = [c["name"] + (f", {c['address']}" if c["address"] else "")]
    if len(c["titulaires"]) > 1:
        who.append("Chaque praticien est responsable des données de ses propres patients : "
                   + ", ".join(c["titulaires"]) + ".")
    patient = [a for a in register["activities"] if a.get("key") != "comptes"]
    why = [a["name"] for a in patient]
    seen = {cat["category"] for a in patient for cat in a["data_categories"]}
    what = [label + (" (donnée sensible)" if key in gdpr.SENSITIVE_CATEGORIES else "")
            for key, label in gdpr.DATA_CATEGORIES if key in seen]
    how_long = [f"{r['category']} : {r['duration']}" for a in patient for r in a["retention"]]
    receivers = sorted({r["role"] for a in patient for r in a["recipients"]["internal"]})
    external = sorted({e for a in patient for e in a["recipients"]["external"]})
    processors = sorted({p for a in patient for p in a["recipients"]["processors"]})
    to_whom = ["Au cabinet : " + (", ".join(receivers) or "les praticiens") + ", chacun selon son rôle."]
    to_whom += external
    if processors:
        to_whom.append("Prestataires techniques tenus au secret : " + ", ".join(processors) + ".")
    reach = ", ".join(v for v in (contact["name"], contact["email"], contact["phone"]) if v) or TODO
    return [
        ("Qui traite vos données ?", who),
        ("Pourquoi ?", why),
        ("Quelles données ?", what),
        ("Combien de temps ?", how_long),
        ("Qui les reçoit ?", to_whom),
        ("Vos droits", RIGHTS),
        ("Comment les exercer ?", [f"Adressez-vous à l'accueil ou à : {reach}. Une pièce d'identité peut vous "
                                   "être demandée."]),
        ("Réclamation", ["Vous pouvez adresser une réclamation à la CNIL : www.cnil.fr, 3 place de Fontenoy, "
                         "TSA 80715, 75334 Paris Cedex 07."]),
    ]


def notice_staff_sections(register: dict[str, Any]) -> list[tuple[str, list[str]]]:
    staff = next((a for a in register["activities"] if a.get("key") == "comptes"), None)
    c = register["controller"]
    contact = c["contact"]
    reach = ", ".join(v for v in (contact["name"], contact["email"]) if v) or TODO
    if staff is None:
        return []
    return [
        ("Pourquoi ?", staff["purposes"]),
        ("Quelles données ?", [f"{cat['label']} : {cat['details']}" for cat in staff["data_categories"]]),
        ("Combien de temps ?", [f"{r['category']} : {r['duration']}" for r in staff["retention"]]),
        ("Qui les consulte ?", [f"{r['role']} ({r['count']})" for r in staff["recipients"]["internal"]]),
        ("Vos droits", ["Accès, rectification, limitation : " + reach + ". Réclamation : www.cnil.fr."]),
    ]


def notice_pdf(register: dict[str, Any], *, kind: str = "poster") -> bytes:
    """kind "poster": one A4 page in large type for the waiting room; "handout": the patient
    notice followed by the staff notice, to hand over or send."""
    buf = io.BytesIO()
    title = "Vos données personnelles au cabinet"
    story: list[Any] = [_p(title, H1)]
    if kind == "poster":
        # One A4 page for the waiting room: a heading per row, read from across the room.
        rows = [[_p(heading, POSTER_HEAD), Paragraph("<br/>".join(
            ("• " if len(lines) > 1 else "") + escape(line) for line in lines), POSTER_BODY)]
            for heading, lines in notice_sections(register)]
        table = Table(rows, colWidths=[38 * mm, 140 * mm])
        table.setStyle(TableStyle([
            ("LINEBELOW", (0, 0), (-1, -1), 0.5, colors.HexColor("#9aa5b4")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ]))
        story.append(table)
    else:
        for heading, lines in notice_sections(register):
            story.append(_p(heading, H3))
            story += [_p(("• " if len(lines) > 1 else "") + line, BODY) for line in lines]
    if kind == "handout":
        staff = notice_staff_sections(register)
        if staff:
            story += [PageBreak(), _p("Information du personnel : vos données dans Hygie", H1)]
            for heading, lines in staff:
                story.append(_p(heading, H3))
                story += [_p("• " + line, BODY) for line in lines]
    story.append(Spacer(1, 3 * mm))
    story.append(_p(f"Document établi le {day(register['generated_on'])} à partir du registre des traitements du "
                    "cabinet.", SMALL))
    doc = _doc(buf, title)
    if kind == "poster":
        doc.topMargin = doc.bottomMargin = 10 * mm
    doc.build(story)
    return buf.getvalue()
