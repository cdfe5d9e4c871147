"""`hygie patients import FICHIER.csv --practitioner IDENTIFIANT [--dry-run] [--json]`.

Every row is checked before anything is written (one error: nothing imported, exit 1); then the
rows are written in short batches (hygie.core.importer). Exit codes: 0 done, 1 nothing imported
(bad file, bad row, unknown practitioner), 2 keys unavailable, 3 stopped between batches (what
was written stays; the same command again finishes the import).
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from typing import Any, NoReturn

from django.core.management.base import CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from hygie.core import importer, startup
from hygie.core.management.base import HygieCommand

INTERRUPTED = 3


class Command(HygieCommand):
    help = "Importe des patients depuis un fichier CSV (voir docs/import-format.md)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", metavar="FICHIER", help="Fichier CSV à importer.")
        parser.add_argument(
            "--practitioner", required=True, help="Identifiant du titulaire dont les patients sont importés."
        )
        parser.add_argument("--dry-run", action="store_true", help="Vérifier le fichier sans rien importer.")
        parser.add_argument(
            "--json",
            action="store_true",
            help="Résultat en JSON sur la sortie standard (numéros de ligne et codes patients, jamais de nom).",
        )

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
        dry_run, as_json = opts["dry_run"], opts["json"]
        self.dry_run = dry_run
        try:
            practitioner = importer.practitioner_for(opts["practitioner"])
            source = importer.open_csv(opts["file"])
        except importer.ImportRefused as exc:
            self._refused(str(exc), as_json)

        # Progress goes to stderr: stdout keeps only the summary (or the JSON).
        console = Console(file=getattr(self.stderr, "_out", self.stderr), stderr=True)
        with ExitStack() as stack:
            stack.enter_context(source)
            progress = stack.enter_context(
                Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    TaskProgressColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=console,
                    transient=True,
                    # Redirected to a file or a pipe, a progress bar would only add noise.
                    disable=not console.is_terminal,
                )
            )
            reading = progress.add_task("Vérification (octets lus)", total=max(source.size, 1))
            try:
                checked = importer.check(
                    source, practitioner, progress=lambda done: progress.update(reading, completed=done)
                )
            except importer.ImportRefused as exc:
                self._refused(str(exc), as_json)
            if checked.error_count:
                self._errors(checked, as_json)
            if dry_run:
                self._summary(checked, None, as_json)
                return
            total = len(checked.to_import) + len(checked.present)
            writing = progress.add_task("Import (lignes)", total=total)
            try:
                written = importer.write(
                    source, practitioner, checked, advance=lambda n: progress.advance(writing, n)
                )
            except importer.ImportInterrupted as exc:
                progress.stop()
                if as_json:
                    self._print_json(checked, exc.written, interrupted=str(exc))
                raise CommandError(str(exc), returncode=INTERRUPTED) from None
        self._summary(checked, written, as_json)

    def _refused(self, message: str, as_json: bool) -> NoReturn:
        if as_json:
            self.stdout.write(json.dumps({"refused": message}, ensure_ascii=False))
        raise CommandError(message, returncode=1)

    def _errors(self, checked: importer.Check, as_json: bool) -> NoReturn:
        n = checked.error_count
        if as_json:
            self._print_json(checked, None)
        else:
            for error in checked.errors:
                self.stderr.write(str(error))
            if n > len(checked.errors):
                self.stderr.write(f"… et {n - len(checked.errors)} autres erreurs.")
        raise CommandError(
            f"{n} erreur{'s' if n > 1 else ''} : aucun patient importé. Corrigez le fichier puis recommencez.",
            returncode=1,
        )

    def _summary(self, checked: importer.Check, written: importer.Written | None, as_json: bool) -> None:
        if as_json:
            self._print_json(checked, written)
            return
        if written is None:
            n, present = len(checked.to_import), len(checked.present)
            self.stdout.write(
                f"Vérification seule : {n} patient{'s' if n > 1 else ''} à importer, "
                f"{present} déjà présent{'s' if present > 1 else ''}. Rien n'a été modifié."
            )
            return
        n, present = len(written.imported), len(written.skipped)
        self.stdout.write(
            self.style.SUCCESS(
                f"{n} patient{'s' if n > 1 else ''} importé{'s' if n > 1 else ''}, "
                f"{present} déjà présent{'s' if present > 1 else ''}."
            )
        )

    def _print_json(
        self, checked: importer.Check, written: importer.Written | None, *, interrupted: str = ""
    ) -> None:
        """The contract of issue 9: line numbers, patient codes and reason codes, never a name."""
        if written is not None:
            imported = [{"line": line, "patient": code} for line, code in written.imported]
            skipped = written.skipped
        else:
            imported = [{"line": line, "patient": None} for line in checked.to_import]
            skipped = checked.present
        result: dict[str, Any] = {
            "imported": imported,
            "skipped": [{"line": line, "reason": "already_present", "patient": code} for line, code in skipped],
            "errors": [{"line": e.line, "message": e.message} for e in checked.errors],
            "error_count": checked.error_count,
            "rows": checked.rows,
            "dry_run": self.dry_run,
            "encoding": checked.encoding,
            "delimiter": checked.delimiter,
        }
        if written is not None:
            result["batches"] = written.batches
            result["import_id"] = written.import_id
        if interrupted:
            result["interrupted"] = interrupted
        self.stdout.write(json.dumps(result, ensure_ascii=False))
