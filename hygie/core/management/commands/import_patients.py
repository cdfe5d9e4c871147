"""`hygie patients import FICHIER.csv --practitioner IDENTIFIANT`: all rows or none."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from hygie.core import importer, startup
from hygie.core.management.base import HygieCommand


class Command(HygieCommand):
    help = "Importe des patients depuis un fichier CSV (voir docs/import-format.md)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", metavar="FICHIER", help="Fichier CSV à importer.")
        parser.add_argument(
            "--practitioner", required=True, help="Identifiant du titulaire dont les patients sont importés."
        )
        parser.add_argument("--dry-run", action="store_true", help="Vérifier le fichier sans rien importer.")

    def handle(self, *args: Any, **opts: Any) -> None:
        if startup.existing_practice() is None:
            raise CommandError("Aucun cabinet dans ce répertoire de données : lancez d'abord « hygie init ».")
        try:
            startup.require_keys()
        except startup.StartupError as exc:
            raise CommandError(str(exc), returncode=2) from None
        from hygie.core.actions import CLI_ROLE
        from hygie.keys import prompt, service

        if service.is_locked():
            # Passphrase mode: the keys are needed to recognise and encrypt the patients.
            prompt.unlock_or_fail(prompt.current_passphrases(opts), stderr=self.stderr, role=CLI_ROLE)
        try:
            practitioner = importer.practitioner_for(opts["practitioner"])
            data = importer.read_file(opts["file"])
            rows, report = importer.check(data)
        except importer.ImportRefused as exc:
            raise CommandError(str(exc)) from None

        if report.errors:
            for error in report.errors:
                self.stderr.write(str(error))
            n = len(report.errors)
            raise CommandError(
                f"{n} erreur{'s' if n > 1 else ''} : aucun patient importé. Corrigez le fichier puis recommencez.",
                returncode=1,
            )

        # Progress goes to stderr: stdout keeps only the summary.
        console = Console(file=getattr(self.stderr, "_out", self.stderr), stderr=True)
        with Progress(
            TextColumn("Import"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
            # Redirected to a file or a pipe, a progress bar would only add noise.
            disable=not console.is_terminal,
        ) as progress:
            task = progress.add_task("import", total=len(rows))
            importer.import_rows(
                rows, practitioner, report, dry_run=opts["dry_run"], advance=lambda: progress.advance(task)
            )

        present = f"{report.already_present} déjà présent{'s' if report.already_present > 1 else ''}"
        if opts["dry_run"]:
            self.stdout.write(
                f"Vérification seule : {report.imported} patient{'s' if report.imported > 1 else ''} "
                f"à importer, {present}. Rien n'a été modifié."
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{report.imported} patient{'s' if report.imported > 1 else ''} "
                    f"importé{'s' if report.imported > 1 else ''}, {present}."
                )
            )
