"""`hygie exchange …`: encrypted archives for other professionals (docs/exchange.md).

    hygie exchange archive --patient P-XXXXXXXX [--documents all|ID,ID…] [--summary]
                           [--consultations all|ID,ID…] [--practitioner IDENTIFIANT] --out F.7z [--json]
    hygie exchange wrap FICHIER… --out F.7z [--purpose rights|cnil|…] [--json]
    hygie exchange receive --patient P-XXXXXXXX --archive F.7z --passphrase-file F
                           [--practitioner IDENTIFIANT] [--json]

`archive` acts on behalf of a titulaire (the patient's only titulaire if --practitioner is not
given), within that titulaire's reach; the journal says so (role "cli"). The passphrase is
printed once (in the JSON: "passphrase"): give it to the recipient by another channel.
Without --documents, --summary or --consultations: every document of the record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from hygie.core.management.base import HygieCommand

ADVICE = (
    "Donnez la phrase de passe au destinataire par un autre canal (téléphone, SMS), jamais avec "
    "l'archive ni par e-mail."
)


class Command(HygieCommand):
    help = "Échange sécurisé : archives 7z chiffrées (AES-256, noms de fichiers chiffrés)."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        archive = sub.add_parser("archive", help="Archive chiffrée d'éléments d'un dossier.")
        archive.add_argument("--patient", required=True, help="Code du patient (P-XXXXXXXX).")
        archive.add_argument("--documents", help="« all » ou identifiants de documents séparés par des virgules.")
        archive.add_argument("--consultations", help="« all » ou identifiants de consultations.")
        archive.add_argument("--summary", action="store_true", help="Ajoute la synthèse du dossier (PDF).")
        archive.add_argument("--practitioner", help="Identifiant du titulaire au nom duquel la commande agit.")
        wrap = sub.add_parser("wrap", help="Met des fichiers d'export dans une archive chiffrée.")
        wrap.add_argument("files", nargs="+", help="Fichiers à mettre dans l'archive.")
        wrap.add_argument(
            "--purpose", default="export", help="Ce que sont ces fichiers (rights, cnil…), pour le journal."
        )
        receive = sub.add_parser("receive", help="Classe les documents d'une archive reçue dans un dossier.")
        receive.add_argument("--patient", required=True, help="Code du patient (P-XXXXXXXX).")
        receive.add_argument("--archive", required=True, help="Archive reçue (.7z ou .zip).")
        receive.add_argument("--passphrase-file", help="Fichier dont la première ligne est la phrase de passe.")
        receive.add_argument("--practitioner", help="Identifiant du titulaire au nom duquel la commande agit.")
        for each in (archive, wrap):
            each.add_argument("--out", required=True, help="Archive à écrire (.7z).")
        for each in (archive, wrap, receive):
            each.add_argument("--json", action="store_true", help="Sortie JSON.")

    def handle(self, *args: Any, **opts: Any) -> None:
        self._ready()
        getattr(self, "_" + opts["action"])(opts)

    def _ready(self) -> None:
        from hygie.core import startup
        from hygie.keys import service

        if startup.existing_practice() is None:
            raise CommandError("Aucun cabinet dans ce répertoire de données : lancez d'abord « hygie init ».")
        try:
            startup.require_keys()
        except startup.StartupError as exc:
            raise CommandError(str(exc), returncode=2) from None
        if service.is_locked():
            raise CommandError("Les clés sont verrouillées : déverrouillez le serveur d'abord.", returncode=2)

    def _titulaire_and_patient(self, opts: dict[str, Any]) -> tuple[Any, Any]:
        from hygie.access import records
        from hygie.access.policy import Role
        from hygie.accounts.models import User

        code = (opts["patient"] or "").strip().upper()
        if opts.get("practitioner"):
            name = opts["practitioner"].strip()
            user = User.objects.filter(username__iexact=name).first()
            if user is None or user.role != Role.TITULAIRE or not user.is_active:
                raise CommandError(f"« {name} » n'est pas un praticien titulaire actif.")
            candidates = [user]
        else:
            candidates = list(User.objects.filter(role=Role.TITULAIRE, is_active=True))
        found = [(u, p) for u in candidates if (p := records.patient_scope(u).filter(code=code).first()) is not None]
        if not found:
            raise CommandError(f"Aucun patient {code} dans la patientèle de ce titulaire.")
        if len(found) > 1:
            raise CommandError(
                f"Le patient {code} est suivi par plusieurs titulaires : indiquez --practitioner IDENTIFIANT."
            )
        return found[0]

    @staticmethod
    def _pick(all_rows: list[Any], wanted: str | None, what: str) -> list[Any]:
        if not wanted:
            return []
        if wanted.strip().lower() == "all":
            return all_rows
        ids = {w.strip().lower() for w in wanted.split(",") if w.strip()}
        chosen = [r for r in all_rows if str(r.public_id).lower() in ids]
        if len(chosen) != len(ids):
            raise CommandError(f"{what} : identifiant inconnu dans ce dossier.")
        return chosen

    def _archive(self, opts: dict[str, Any]) -> None:
        from hygie.access import records
        from hygie.core.actions import CLI_ROLE
        from hygie.exchange import actions
        from hygie.exchange.content import Selection

        user, patient = self._titulaire_and_patient(opts)
        documents = list(records.documents_of(user, patient))
        consultations = list(records.consultations_of(user, patient))
        wanted_docs = opts["documents"]
        if not (wanted_docs or opts["consultations"] or opts["summary"]):
            wanted_docs = "all"
        selection = Selection(
            patient=patient,
            summary=opts["summary"],
            documents=self._pick(documents, wanted_docs, "--documents"),
            consultations=self._pick(consultations, opts["consultations"], "--consultations"),
        )
        out = self._out(opts)
        try:
            written = actions.write_archive(actor=user, selection=selection, out=out, via="cli", actor_role=CLI_ROLE)
        except actions.ActionError as exc:
            raise CommandError(str(exc)) from None
        self._report(opts, written.passphrase, out, written.members, written.size)

    def _wrap(self, opts: dict[str, Any]) -> None:
        from hygie.core.actions import CLI_ROLE
        from hygie.exchange import actions

        out = self._out(opts)
        paths = [Path(f) for f in opts["files"]]
        try:
            passphrase = actions.archive_files(
                actor=None, paths=paths, out=out, purpose=opts["purpose"], actor_role=CLI_ROLE
            )
        except actions.ActionError as exc:
            raise CommandError(str(exc)) from None
        self._report(opts, passphrase, out, len(paths), out.stat().st_size)

    def _receive(self, opts: dict[str, Any]) -> None:
        from hygie.exchange import actions

        user, patient = self._titulaire_and_patient(opts)
        path = Path(opts["archive"])
        if not path.is_file():
            raise CommandError(f"Archive introuvable : {path}")
        passphrase = ""
        if opts["passphrase_file"]:
            try:
                lines = Path(opts["passphrase_file"]).read_text(encoding="utf-8").splitlines()
            except (FileNotFoundError, UnicodeDecodeError):
                raise CommandError("Fichier de phrase de passe illisible.") from None
            passphrase = lines[0].strip() if lines else ""
        try:
            exchange = actions.receive_archive(actor=user, patient=patient, path=path, passphrase=passphrase)
        except actions.ActionError as exc:
            raise CommandError(str(exc)) from None
        if opts["json"]:
            self.stdout.write(json.dumps({"filed": exchange.documents, "patient": patient.code}))
        else:
            self.stdout.write(f"{exchange.documents} document(s) classé(s) dans le dossier {patient.code}.")

    @staticmethod
    def _out(opts: dict[str, Any]) -> Path:
        out = Path(opts["out"])
        if out.exists():
            raise CommandError(f"{out} existe déjà : choisissez un autre nom.")
        if not out.parent.is_dir():
            raise CommandError(f"Dossier introuvable : {out.parent}")
        return out

    def _report(self, opts: dict[str, Any], passphrase: str, out: Path, members: int, size: int) -> None:
        if opts["json"]:
            self.stdout.write(
                json.dumps(
                    {"passphrase": passphrase, "archive": str(out), "files": members, "size": size, "advice": ADVICE},
                    ensure_ascii=False,
                )
            )
            return
        self.stdout.write(f"Archive écrite : {out} ({members} fichier(s), {size} octets)")
        self.stdout.write(f"Phrase de passe : {passphrase}")
        self.stdout.write(ADVICE)
