"""The printable recovery kit (text or PDF) and the recovery of lost keys from it.

The kit holds everything a new machine needs besides a copy of the backups: the recovery code
of the key file (lines L01, L02…), the journal signing key (lines J01, J02…: without it the
signed checkpoints of a restored journal cannot be checked) and the backup identity
(AGE-SECRET-KEY-1…, which opens the backups, even without Hygie). Kits printed before the last
two were added still recover the key file.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.utils import timezone

from hygie.lib import keyfile, recoverykit
from hygie.lib.crypto import aead_key_id

TITLE = "Hygie — kit de récupération des clés"
CODE_HEADING = "Code de récupération :"
SIGNING_HEADING = "Clé de signature du journal (clé {key_id}) :"
IDENTITY_HEADING = "Identité de sauvegarde (age) :"

INSTRUCTIONS = [
    "Ce document permet de reconstituer les clés du cabinet si elles sont perdues (panne, vol,",
    "remplacement de l'ordinateur) : le fichier de clés (lignes L01…), la clé de signature du",
    "journal (lignes J01…) et l'identité de sauvegarde (AGE-SECRET-KEY-1…). Sans ce kit ni le",
    "fichier de clés, les données des patients sont définitivement illisibles.",
    "",
    "À conserver au coffre, sous enveloppe scellée, hors du cabinet si possible.",
    "Ne le photographiez pas, ne le scannez pas, ne l'envoyez pas par e-mail :",
    "quiconque le détient avec une copie de la base peut lire les dossiers.",
    "",
    "Nouvelle machine, avec ce kit et une copie des sauvegardes (Hygie installé) :",
    "  1. hygie keys recover --kit FICHIER.txt  (ou hygie keys recover, puis saisir les lignes",
    "     L01, L02…, puis J01, J02…, puis la ligne AGE-SECRET-KEY-1…) ;",
    "  2. hygie backup restore DOSSIER_DES_SAUVEGARDES --to NOUVEAU_DOSSIER_DE_DONNEES ;",
    "  3. HYGIE_DATA_DIR=NOUVEAU_DOSSIER_DE_DONNEES hygie audit verify, puis hygie serve.",
    "Fichier de clés seul perdu, données en place : l'étape 1 suffit.",
    "Procédure complète : docs/operations.md, « Reprise après sinistre (nouvelle machine) ».",
    "Une erreur de frappe est signalée (somme de contrôle). Les sessions ouvertes sont fermées.",
    "",
    "Après une rotation des clés (hygie keys rotate), ce kit ne vaut plus :",
    "imprimez le nouveau et détruisez celui-ci.",
]

BACKUP_INSTRUCTIONS = [
    "L'identité de sauvegarde ouvre les sauvegardes, même sans Hygie : recopiez la ligne",
    "AGE-SECRET-KEY-1… dans un fichier identite.txt, puis ouvrez la sauvegarde et chaque paquet :",
    "    age -d -i identite.txt hygie-backup-….age | tar -x",
    "    age -d -i identite.txt packs/pack-….age | tar -x",
    "(outil age : https://age-encryption.org). Avec Hygie : hygie backup restore.",
]


def _backup_identity() -> str:
    # Created here if no backup ran yet: the kit printed at installation already opens them.
    from hygie.backups import identity

    return identity.load_or_create()


def _signing_key() -> tuple[bytes, str]:
    # Created here if no checkpoint was signed yet: the kit printed at installation has it.
    from hygie.audit import checkpoint

    key = checkpoint.load_or_create_signing_key()
    return key.private, key.key_id


@dataclass(frozen=True)
class _Printed:
    header: list[str]
    code: list[str]
    signing_heading: str
    signing: list[str]
    identity: str


def _fields(material: keyfile.KeyMaterial, practice: str, when: datetime) -> _Printed:
    code = recoverykit.encode(material.fingerprint_key, material.data_root_key, material.kek)
    private, key_id = _signing_key()
    header = [
        f"Cabinet : {practice}",
        f"Date : {timezone.localtime(when).strftime('%d/%m/%Y %H:%M')}",
        f"Clé maîtresse : {material.primary_kek}",
    ]
    return _Printed(
        header=header,
        code=recoverykit.lines(code),
        signing_heading=SIGNING_HEADING.format(key_id=key_id),
        signing=recoverykit.lines(recoverykit.encode_signing_key(private), recoverykit.SIGNING_PREFIX),
        identity=_backup_identity(),
    )


def as_text(material: keyfile.KeyMaterial, practice: str, when: datetime) -> str:
    kit = _fields(material, practice, when)
    out = [TITLE, "=" * len(TITLE), "", *kit.header, "", CODE_HEADING, "", *kit.code]
    out += ["", kit.signing_heading, "", *kit.signing]
    out += ["", IDENTITY_HEADING, "", kit.identity, ""]
    out += ["", *INSTRUCTIONS, "", *BACKUP_INSTRUCTIONS, ""]
    return "\n".join(out)


def as_pdf(material: keyfile.KeyMaterial, practice: str, when: datetime) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    kit = _fields(material, practice, when)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    pdf.setTitle(TITLE)
    width, height = A4
    y = height - 60
    pdf.setFont("Helvetica-Bold", 15)
    pdf.drawString(50, y, TITLE)
    y -= 28
    pdf.setFont("Helvetica", 11)
    for line in kit.header:
        pdf.drawString(50, y, line)
        y -= 16
    for heading, lines in ((CODE_HEADING, kit.code), (kit.signing_heading, kit.signing)):
        y -= 10
        pdf.setFont("Helvetica-Bold", 11)
        pdf.drawString(50, y, heading)
        y -= 22
        pdf.setFont("Courier-Bold", 12)
        for line in lines:
            pdf.drawString(60, y, line)
            y -= 17
    y -= 8
    pdf.setFont("Helvetica-Bold", 11)
    pdf.drawString(50, y, IDENTITY_HEADING)
    y -= 20
    pdf.setFont("Courier-Bold", 9)  # 74 characters: fits the width of the page
    pdf.drawString(60, y, kit.identity)
    y -= 22
    pdf.setFont("Helvetica", 10)
    for line in [*INSTRUCTIONS, "", *BACKUP_INSTRUCTIONS]:
        pdf.drawString(50, y, line)
        y -= 14
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


# --- Recovery -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contents:
    """What a kit gives back. Kits printed before the journal signing key (or before backups)
    lack the last ones: None and ""."""

    material: keyfile.KeyMaterial
    signing_key: bytes | None = None
    backup_identity: str = ""


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


def parse(code: str, signing_code: str = "", identity_line: str = "") -> Contents:
    """The kit's contents from its recovery code, the groups of its J lines and its
    AGE-SECRET-KEY-1… line (the last two may be empty: an older kit). KitError if any is wrong."""
    from hygie.lib import backuparchive

    material = material_from_code(code)
    signing_key = recoverykit.decode_signing_key(signing_code) if signing_code.strip() else None
    identity = "".join(identity_line.split()).upper()
    if identity:
        try:
            backuparchive.recipient_of(identity)
        except backuparchive.ArchiveError:
            raise recoverykit.KitError(
                "Identité de sauvegarde erronée (ligne AGE-SECRET-KEY-1…) : vérifiez chaque caractère."
            ) from None
    return Contents(material, signing_key, identity)


def read_kit_text(path: Path) -> str:
    """A kit file's text: as is, or the text of its PDF (pdftotext)."""
    data = path.read_bytes()
    if not data.startswith(b"%PDF"):
        return data.decode("utf-8", errors="replace")
    import shutil
    import subprocess

    tool = shutil.which("pdftotext")
    if tool is None:
        raise recoverykit.KitError(
            "Impossible de lire le PDF ici (pdftotext absent) : saisissez le code avec « hygie keys recover »."
        )
    return subprocess.run([tool, "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout  # noqa: S603


def read_kit_file(path: Path) -> Contents:
    """Everything a kit file (text or PDF) holds."""
    text = read_kit_text(path)
    return parse(
        recoverykit.find_code(text),
        recoverykit.find_lines(text, recoverykit.SIGNING_PREFIX),
        recoverykit.find_age_identity(text),
    )
