"""`hygie gdpr …`: the GDPR register and the « contrôle CNIL » pack (docs/compliance.md).

    hygie gdpr register --format json|csv|pdf --out FICHIER
    hygie gdpr pack --out FICHIER.zip
    hygie gdpr pack --7z --out FICHIER.7z      (the same pack inside a 7z AES archive; passphrase shown once)

The file is written next to its destination then renamed: an interrupted run leaves no half
file. Each run is journaled (role "cli") with the register's SHA-256.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from hygie.compliance import actions, pdf
from hygie.compliance import register as reg
from hygie.core.management.base import HygieCommand

CLI_ROLE = "cli"


def write_atomically(path: Path, data: bytes) -> None:
    directory = path.parent
    if not directory.is_dir():
        raise CommandError(f"Dossier introuvable : {directory}")
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".hygie-", suffix=".part")
    except OSError as exc:
        raise CommandError(f"Impossible d'écrire dans {directory} : {exc.strerror}.") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CommandError(f"Impossible d'écrire {path} : {exc.strerror}. Rien n'a été écrit.") from None


class Command(HygieCommand):
    help = "Registre RGPD des traitements et dossier « contrôle CNIL »."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        register = sub.add_parser("register", help="Écrit le registre des activités de traitement.")
        register.add_argument("--format", choices=("json", "csv", "pdf"), default="json", help="Format du fichier.")
        register.add_argument("--out", required=True, help="Fichier à écrire (« - » : sortie standard, json et csv).")
        pack = sub.add_parser("pack", help="Produit l'archive « contrôle CNIL » (ZIP, index SHA-256).")
        pack.add_argument("--out", required=True, help="Fichier ZIP à écrire (avec --7z : l'archive .7z).")
        pack.add_argument("--7z", dest="sevenzip", action="store_true",
                          help="Chiffrer le dossier dans une archive 7z AES-256 ; la phrase de passe est affichée "
                               "une seule fois.")

    def handle(self, *args: Any, **opts: Any) -> None:
        out = opts["out"]
        if opts["action"] == "register":
            fmt = opts["format"]
            if out == "-" and fmt == "pdf":
                raise CommandError("Le PDF ne s'écrit pas sur la sortie standard : indiquez --out FICHIER.pdf.")
            register = reg.generate(actor_role=CLI_ROLE, fmt=fmt)
            if fmt == "json":
                data = json.dumps(register, ensure_ascii=False, indent=2).encode("utf-8")
            elif fmt == "csv":
                data = reg.csv_bytes(register)
            else:
                data = pdf.register_pdf(register)
            if out == "-":
                self.stdout.write(data.decode("utf-8-sig"))
                return
            write_atomically(Path(out), data)
            self.stdout.write(f"Registre écrit : {out} (empreinte {register['version']['sha256'][:16]}…).")
            if register["missing"]:
                self.stdout.write("À compléter : " + " ; ".join(register["missing"]) + ".")
            return
        if opts["sevenzip"]:
            self._pack_7z(Path(out))
            return
        built = actions.export_pack(actor=None, actor_role=CLI_ROLE)
        write_atomically(Path(out), built.data)
        self.stdout.write(f"Dossier « contrôle CNIL » écrit : {out} ({len(built.files)} fichiers, SHA-256 "
                          f"{built.sha256}).")
        for name, why in built.unavailable.items():
            self.stdout.write(f"  {name} : {why}")
        self.stdout.write("  " + "Archive non chiffrée : voir NOTE.txt.")

    def _pack_7z(self, out: Path) -> None:
        if not out.parent.is_dir():
            raise CommandError(f"Dossier introuvable : {out.parent}")
        if out.exists():
            raise CommandError(f"{out} existe déjà : il n'est jamais remplacé. Choisissez un autre nom.")
        try:
            passphrase = actions.export_pack_archive(actor=None, actor_role=CLI_ROLE, out=out)
        except actions.ComplianceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Dossier « contrôle CNIL » chiffré écrit : {out} (7z AES-256, noms chiffrés).")
        self.stdout.write(f"Phrase de passe (affichée une seule fois, enregistrée nulle part) : {passphrase}")
        self.stdout.write("Donnez-la par un autre canal que l'archive (téléphone, SMS, de vive voix).")
