"""The printable recovery kit (text or PDF) and the recovery of a lost key file from it."""

from __future__ import annotations

import io
import secrets
from datetime import datetime
from pathlib import Path

from django.utils import timezone

from hygie.lib import keyfile, recoverykit
from hygie.lib.crypto import aead_key_id

TITLE = "Hygie — kit de récupération des clés"

INSTRUCTIONS = [
    "Ce document permet de reconstituer le fichier de clés du cabinet s'il est perdu",
    "(panne, vol ou remplacement de l'ordinateur). Sans lui ni le fichier de clés,",
    "les données des patients sont définitivement illisibles.",
    "",
    "À conserver au coffre, sous enveloppe scellée, hors du cabinet si possible.",
    "Ne le photographiez pas, ne le scannez pas, ne l'envoyez pas par e-mail :",
    "quiconque le détient avec une copie de la base peut lire les dossiers.",
    "",
    "Pour restaurer, sur la nouvelle machine (Hygie installé, base ou sauvegarde en place) :",
    "    hygie keys recover            puis saisir les lignes du code (L01, L02…),",
    "    ou : hygie keys recover --kit FICHIER.txt",
    "Une erreur de frappe est signalée (somme de contrôle). Les sessions ouvertes sont fermées.",
    "",
    "Après une rotation des clés (hygie keys rotate), ce kit ne vaut plus :",
    "imprimez le nouveau et détruisez celui-ci.",
]

BACKUP_INSTRUCTIONS = [
    "L'identité de sauvegarde ouvre les sauvegardes (hygie-backup-….age), même sans Hygie :",
    "recopiez la ligne AGE-SECRET-KEY-1… dans un fichier identite.txt, puis",
    "    age -d -i identite.txt hygie-backup-….age | tar -x",
    "(outil age : https://age-encryption.org). Avec Hygie : hygie backup restore.",
]


def _backup_identity() -> str:
    # Created here if no backup ran yet: the kit printed at installation already opens them.
    from hygie.backups import identity

    return identity.load_or_create()


def _fields(material: keyfile.KeyMaterial, practice: str, when: datetime) -> tuple[str, list[str]]:
    code = recoverykit.encode(material.fingerprint_key, material.data_root_key, material.kek)
    header = [
        f"Cabinet : {practice}",
        f"Date : {timezone.localtime(when).strftime('%d/%m/%Y %H:%M')}",
        f"Clé maîtresse : {material.primary_kek}",
    ]
    return code, header


def as_text(material: keyfile.KeyMaterial, practice: str, when: datetime) -> str:
    code, header = _fields(material, practice, when)
    out = [TITLE, "=" * len(TITLE), "", *header, "", "Code de récupération :", ""]
    out += recoverykit.lines(code)
    out += ["", "Identité de sauvegarde (age) :", "", _backup_identity(), ""]
    out += ["", *INSTRUCTIONS, "", *BACKUP_INSTRUCTIONS, ""]
    return "\n".join(out)


def as_pdf(material: keyfile.KeyMaterial, practice: str, when: datetime) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    code, header = _fields(material, practice, when)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    pdf.setTitle(TITLE)
    width, height = A4
    y = height - 60
    pdf.setFont("Helvetica-Bold", 15)
    pdf.drawString(50, y, TITLE)
    y -= 28
    pdf.setFont("Helvetica", 11)
    for line in header:
        pdf.drawString(50, y, line)
        y -= 16
    y -= 10
    pdf.setFont("Helvetica-Bold", 11)
    pdf.drawString(50, y, "Code de récupération :")
    y -= 22
    pdf.setFont("Courier-Bold", 12)
    for line in recoverykit.lines(code):
        pdf.drawString(60, y, line)
        y -= 17
    y -= 8
    pdf.setFont("Helvetica-Bold", 11)
    pdf.drawString(50, y, "Identité de sauvegarde (age) :")
    y -= 20
    pdf.setFont("Courier-Bold", 9)  # 74 characters: fits the width of the page
    pdf.drawString(60, y, _backup_identity())
    y -= 22
    pdf.setFont("Helvetica", 10)
    for line in [*INSTRUCTIONS, "", *BACKUP_INSTRUCTIONS]:
        pdf.drawString(50, y, line)
        y -= 14
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def material_from_code(text: str) -> keyfile.KeyMaterial:
    """Key material rebuilt from a kit (a fresh Django secret key: sessions start over)."""
    fingerprint_key, data_root_key, kek = recoverykit.decode(text)
    kid = aead_key_id(kek)
    return keyfile.KeyMaterial(
        secret_key=secrets.token_urlsafe(50),
        fingerprint_key=fingerprint_key,
        keks={kid: kek},
        primary_kek=kid,
        data_root_key=data_root_key,
    )


def read_kit_file(path: Path) -> str:
    """The recovery code from a kit file: its text, or the text of its PDF (pdftotext)."""
    data = path.read_bytes()
    if data.startswith(b"%PDF"):
        import shutil
        import subprocess

        tool = shutil.which("pdftotext")
        if tool is None:
            raise recoverykit.KitError(
                "Impossible de lire le PDF ici (pdftotext absent) : saisissez le code avec « hygie keys recover »."
            )
        text = subprocess.run([tool, "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout  # noqa: S603
    else:
        text = data.decode("utf-8", errors="replace")
    return recoverykit.find_code(text)
