"""The fiche réflexe (INC-1, INC-2; seeds 002, 003): whom to call, what to cut, how to find out
what happened, on one printable A4 page built from the practice's own contacts. Holds no patient
data: it may be printed and pinned up, and goes into the « contrôle CNIL » pack (pack.py)."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.utils import timezone

from hygie.incidents.models import Contacts
from hygie.practices.models import Practice

# Regions of metropolitan France and overseas with a regional CSIRT (ANSSI programme). Hygie
# does not ship their numbers: they change, and a wrong number in a crisis is worse than a blank
# line. The practice types the one of its region (cert.ssi.gouv.fr lists them).
REGIONS = [
    "Auvergne-Rhône-Alpes", "Bourgogne-Franche-Comté", "Bretagne", "Centre-Val de Loire", "Corse", "Grand Est",
    "Hauts-de-France", "Île-de-France", "Normandie", "Nouvelle-Aquitaine", "Occitanie", "Pays de la Loire",
    "Provence-Alpes-Côte d'Azur", "Guadeloupe", "Guyane", "La Réunion", "Martinique", "Mayotte",
]

# Seed 003, « Conduite à tenir en cas d'incident » (REQUIREMENTS INC-2, BAK-2).
FIRST_REFLEXES = [
    "Isoler immédiatement le poste compromis : débrancher le câble réseau, couper le Wi-Fi.",
    "Presser « Isoler Hygie » (page Incidents) : sessions fermées, connexions, téléchargements et "
    "sauvegardes non verrouillées arrêtés.",
    "Ne pas éteindre brutalement si un chiffrement est en cours.",
    "Préserver les preuves : noter date et heure, photographier les écrans, garder les journaux.",
    "Appeler 17Cyber, puis le CSIRT régional ou le prestataire de confiance.",
    "Ne jamais payer de rançon sans avis d'expert.",
    "Ne pas reconnecter les sauvegardes avant l'avis d'un expert.",
    "Violation de données : ouvrir l'incident dans Hygie ; notifier la CNIL dans les 72 heures "
    "(RGPD art. 33) ; informer les patients si le risque est élevé (art. 34).",
]
NATIONAL = [
    ("17Cyber (Police, Gendarmerie, cybermalveillance.gouv.fr)", "17cyber.gouv.fr — 24 h/24, 7 j/7"),
    ("CNIL — notifier une violation de données (72 h)", "notifications.cnil.fr"),
    ("ANS / CERT Santé — signaler un incident (recommandé aux libéraux)", "signalement.social-sante.gouv.fr"),
]


def practice_contacts(contacts: Contacts | None = None) -> list[tuple[str, str]]:
    """The practice's own lines, blank ones included so that the page shows what is missing."""
    c = contacts or Contacts.current()
    csirt = c.csirt_name or ("CSIRT régional — " + c.region if c.region else "CSIRT régional")
    return [
        (csirt, c.csirt_phone),
        ("Prestataire informatique" + (" — " + c.provider_name if c.provider_name else ""), c.provider_phone),
        ("Référent sécurité du cabinet" + (" — " + c.referent_name if c.referent_name else ""), c.referent_phone),
        ("Contact pour la CNIL (DPO ou autre)", c.dpo_contact),
        ("Assureur (cyber-risque)", c.insurer),
    ]


def filled_contacts() -> list[tuple[str, str]]:
    """Only the lines the practice filled in (for the checklist poster's hook)."""
    return [(who, how) for who, how in practice_contacts() if how]


def fiche_pdf() -> bytes:
    # reportlab (~60 ms of import) when a PDF is made, not with this module: the URL patterns
    # import it, in every process that loads them (docs/performance.md, « Démarrage »).
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    practice = Practice.current()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=12 * mm,
                            bottomMargin=10 * mm, title="Fiche réflexe incident", author="Hygie", creator="Hygie")
    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=10, leading=13)
    section = ParagraphStyle("section", parent=styles["Heading3"], fontSize=12, spaceBefore=6, spaceAfter=3)

    def p(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text), style)

    story: list = [p("Fiche réflexe — incident de sécurité", styles["Title"])]
    if practice is not None:
        story.append(p(practice.name, styles["Heading3"]))
    story.append(p("Premiers réflexes", section))
    story += [p(f"{n}. {text}") for n, text in enumerate(FIRST_REFLEXES, 1)]
    story.append(p("Qui appeler", section))
    rows = [[p(who), p(how or "………………………………")] for who, how in NATIONAL + practice_contacts()]
    table = Table(rows, colWidths=[95 * mm, 83 * mm])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(table)
    story.append(p("Comprendre ce qui s'est passé", section))
    story += [p(t) for t in (
        "Hygie : page Incidents → ouvrir l'incident, noter chaque étape avec l'heure ; « Recenser dans le "
        "journal » compte ce qu'un compte a ouvert sur une période.",
        "Exporter les preuves (journal de la période et points de contrôle signés, avec leurs empreintes "
        "SHA-256) pour les enquêteurs.",
        "Lever l'isolement seulement après l'avis de l'expert : « hygie incident lift » sur la machine, ou "
        "un administrateur confirmé par un second.",
    )]
    story.append(Spacer(1, 4 * mm))
    printed = timezone.localtime().strftime("%d/%m/%Y")
    story.append(p(f"Imprimée le {printed}. À afficher près du poste et à garder hors ligne.",
                   ParagraphStyle("s", parent=body, fontSize=8)))
    doc.build(story)
    return buf.getvalue()
