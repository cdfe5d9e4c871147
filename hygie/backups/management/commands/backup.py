"""`hygie backup …`: encrypted backups (docs/operations.md, « Sauvegarde et restauration »).

hygie backup run --to DOSSIER
hygie backup verify CHEMIN [--identity FICHIER]
hygie backup restore CHEMIN --to REPERTOIRE_DE_DONNEES [--database-url URL] [--identity FICHIER]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from hygie.backups import service
from hygie.core.management.base import HygieCommand


@contextlib.contextmanager
def _progress(label: str) -> Iterator[tuple[service.Progress, Any]]:
    """A rich progress bar on stderr when it is a terminal; otherwise nothing."""
    if not sys.stderr.isatty():
        yield (lambda n: None), (lambda total: None)
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    with Progress(
        f"[bold]{label}", BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=Console(stderr=True)
    ) as bar:
        task = bar.add_task(label, total=None)
        yield (lambda n: bar.advance(task, n)), (lambda total: bar.update(task, total=total))


class Command(HygieCommand):
    help = "Sauvegardes chiffrées (format age) : sauvegarder, vérifier, restaurer."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        run = sub.add_parser("run", help="Sauvegarde maintenant dans un dossier (disque externe, partage…).")
        run.add_argument("--to", required=True, metavar="DOSSIER", help="Dossier de destination (il doit exister).")
        verify = sub.add_parser("verify", help="Déchiffre et vérifie une sauvegarde, ou toutes celles d'un dossier.")
        verify.add_argument("path", metavar="CHEMIN", help="Une sauvegarde .age, ou un dossier de sauvegardes.")
        restore = sub.add_parser("restore", help="Restaure une sauvegarde dans un répertoire de données neuf.")
        restore.add_argument("path", metavar="CHEMIN", help="Une sauvegarde .age, ou un dossier (la plus récente).")
        restore.add_argument("--to", required=True, metavar="REPERTOIRE", help="Répertoire de données neuf (vide).")
        restore.add_argument(
            "--database-url", default="", help="Sauvegarde PostgreSQL : base vide où restaurer (postgresql://…)."
        )
        for each in (verify, restore):
            each.add_argument(
                "--identity", help="Fichier de l'identité de sauvegarde (défaut : backup-identity.txt près des clés)."
            )
        finish = sub.add_parser("finish-restore", help=argparse.SUPPRESS)
        finish.add_argument("--archive", required=True)

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"].replace("-", "_")
        try:
            getattr(self, f"do_{action}")(**opts)
        except service.BackupError as exc:
            raise CommandError(str(exc)) from None

    def do_run(self, **opts: Any) -> None:
        with _progress("Sauvegarde") as (advance, total):
            archive = service.run(Path(opts["to"]), progress=advance, on_total=total)
        self.stdout.write(f"Sauvegarde chiffrée écrite : {archive}")

    def do_verify(self, **opts: Any) -> None:
        identity = Path(opts["identity"]) if opts.get("identity") else None
        results = service.verify(Path(opts["path"]), identity_path=identity)
        for archive, reason in results:
            self.stdout.write(f"OK : {archive}" if reason is None else f"ÉCHEC : {reason}")
        bad = sum(1 for _, reason in results if reason)
        if bad:
            raise CommandError(f"{bad} sauvegarde(s) sur {len(results)} en échec.", returncode=1)
        self.stdout.write(f"{len(results)} sauvegarde(s) intègre(s).")

    def do_restore(self, **opts: Any) -> None:
        identity = Path(opts["identity"]) if opts.get("identity") else None
        data_dir = Path(opts["to"])
        with _progress("Restauration") as (advance, _total):
            done = service.restore(
                Path(opts["path"]),
                data_dir,
                database_url=opts["database_url"],
                identity_path=identity,
                progress=advance,
            )
        self.stdout.write(f"Sauvegarde {done.archive.name} restaurée dans {done.data_dir}.")
        for path in done.installed:
            self.stdout.write(f"Fichier absent de cette machine, repris de la sauvegarde : {path}")
        self.stdout.write("Les patients effacés depuis la sauvegarde ont été effacés à nouveau.")
        self.stdout.write("Étapes suivantes :")
        url = f" HYGIE_DATABASE_URL={opts['database_url']}" if done.database == "postgresql" else ""
        self.stdout.write(f"  1. HYGIE_DATA_DIR={done.data_dir}{url} hygie audit verify   (intégrité du journal)")
        self.stdout.write(f"  2. HYGIE_DATA_DIR={done.data_dir}{url} hygie serve          (ou réglez .env)")
        self.stdout.write("  3. Fichier de clés perdu : hygie keys recover (kit de récupération).")

    def do_finish_restore(self, **opts: Any) -> None:
        done = service.finish_restore(opts["archive"])
        self.stdout.write(f"{len(done)} patient(s) effacé(s) à nouveau.")
