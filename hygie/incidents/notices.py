"""The letter telling one patient of a breach (GDPR art. 34(2): in clear and plain language, the
nature of the breach, the contact, the likely consequences, the measures). It names its own
patient only: its other texts are fixed sentences and the practice's descriptions, which are
checked not to contain the name of another patient concerned (`names_in`)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from xml.sax.saxutils import escape

from django.utils import timezone

from hygie.incidents.models import Contacts, Incident
from hygie.lib.text import fold
from hygie.practices.models import Practice

# The practice's free texts that go into the letter.
LETTER_TEXTS = ("data_categories", "consequences", "measures_taken", "measures_planned")

WHAT = {
    "device_lost": "un équipement du cabinet contenant des données a été perdu ou volé",
    "paper_lost": "des documents papier du cabinet ont été perdus, volés ou laissés accessibles",
    "intrusion": "le système informatique du cabinet a subi une intrusion",
    "wrong_recipient": "un document vous concernant a été envoyé par erreur à une autre personne",
    "disclosure": "des données ont été consultées ou divulguées sans autorisation",
    "disposal": "des supports ont été détruits ou jetés sans précaution suffisante",
    "published": "des données ont été publiées par erreur",
    "other": "un incident de sécurité a touché les données du cabinet",
}


def names_in(incident: Incident, names: Iterable[str]) -> bool:
    """Whether any of `names` (other patients') appears in the texts the letter would print."""
    texts = " {} ".format(fold(" ".join(getattr(incident, f) or "" for f in LETTER_TEXTS)))
    return any(len(fold(n)) > 2 and f" {fold(n)} " in texts for n in names)


def notice_pdf(incident: Incident, *, patient_name: str, patient_address: str) -> bytes:
    # reportlab (~60 ms of import) when a PDF is made, not with this module: the URL patterns
    # import it, in every process that loads them (docs/performance.md, « Démarrage »).
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    practice = Practice.current()
    contacts = Contacts.current()
    buf = io.BytesIO()
    # Metadata name no one: the file may be mailed or stored.
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=15 * mm, title="Information sur un incident de sécurité", author="Hygie",
                            creator="Hygie")
    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=11, leading=15, spaceAfter=6)

    def p(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    when = timezone.localtime(incident.started_at or incident.discovered_at).strftime("%d/%m/%Y")
    story: list = []
    if practice is not None:
        story.append(p(practice.name))
    story += [p(patient_name + ("\n" + patient_address if patient_address else "")),
              p("Le {}".format(timezone.localtime().strftime("%d/%m/%Y"))), Spacer(1, 6 * mm),
              p("Objet : information sur un incident touchant vos données de santé", styles["Heading3"]),
              p("Madame, Monsieur,"),
              p("Nous vous informons que, le {}, {}. Vos données font partie de celles qui ont pu être "
                "concernées. La loi (article 34 du règlement général sur la protection des données) nous "
                "demande de vous en informer directement, ce que nous faisons par cette lettre.".format(
                    when, WHAT.get(incident.origin, WHAT["other"])))]
    if incident.data_categories:
        story.append(p("Données concernées : {}.".format(incident.data_categories.rstrip("."))))
    story.append(p("Conséquences possibles pour vous : %s" % (
        incident.consequences.strip() or "elles sont en cours d'évaluation ; nous vous recontacterons si "
        "elles se précisent.")))
    if incident.measures_taken or incident.measures_planned:
        story.append(p("Ce que nous avons fait et ferons : {}".format(" ".join(
            t.strip() for t in (incident.measures_taken, incident.measures_planned) if t.strip()))))
    story.append(p("Ce que vous pouvez faire : restez attentif à tout message, appel ou courrier inhabituel "
                   "qui utiliserait vos informations de santé ; ne communiquez jamais vos identifiants ; en cas "
                   "de doute, appelez le cabinet."))
    contact = contacts.dpo_contact or contacts.referent_phone or "le secrétariat du cabinet"
    story.append(p(f"Pour toute question, contactez : {contact}. Vous pouvez aussi adresser une réclamation à la CNIL "
                   "(www.cnil.fr)."))
    story.append(p("Nous vous prions de nous excuser pour cet incident et vous adressons nos salutations "
                   "distinguées."))
    doc.build(story)
    return buf.getvalue()
